// The shape of a benchmark run's results: what every scenario measures, what the report prints,
// writes as JSON and draws as HTML, and what `--compare` reads back from an earlier run.

/** Latency of one measured window, in milliseconds. */
export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** One measured window (after its warm-up) of one subject. */
export interface Window {
  /** Requests (or events) per second over the window. */
  rate: number;
  latency: Latency;
  /** Requests answered (or events applied) in the window. */
  count: number;
  seconds: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Answers whose status is not the one expected (e.g. 503 where 200 was expected), by status. */
  unexpected: Record<string, number>;
  /** The window could not finish (a scenario that cannot keep up): what it managed is reported. */
  timedOut: boolean;
}

/** The system or one baseline, over the rounds of a scenario. */
export interface Subject {
  /** "system", or the baseline's name, e.g. "hono + redis". */
  name: string;
  /** What it is, in a line (e.g. "a bare Hono app doing the same Redis GET"). */
  description: string;
  rounds: Window[];
  /** The median of each figure over the rounds. */
  median: Window;
}

export interface TargetResult {
  /** e.g. "≥ 0.8 × hono → grpc → redis" */
  description: string;
  /** The measured figure the target is about (a ratio, or a rate). */
  measured: number | undefined;
  met: boolean | undefined;
}

export interface ScenarioResult {
  /** Unique within a run, e.g. "search.tag-price.10k". */
  id: string;
  /** The scenario's kind, e.g. "search". */
  scenario: string;
  /** A human title, e.g. "search: tag (≈2%) with a price range". */
  title: string;
  /** Live products in the data set (undefined where size does not apply). */
  size: number | undefined;
  concurrency: number;
  unit: "req/s" | "events/s" | "docs/s";
  system: Subject;
  baselines: Subject[];
  /** System rate / baseline rate, medians, by baseline name. */
  ratios: Record<string, number>;
  targets: TargetResult[];
  /** ok; timed-out (could not finish its windows); not-counted (errors or unexpected statuses). */
  status: "ok" | "timed-out" | "not-counted";
  notes: string[];
  /** Extra series to chart (e.g. projection lag over time: [seconds since start, lag ms]). */
  series?: Record<string, [number, number][]>;
}

/** Memory of one service at a point of the run. */
export interface MemorySample {
  service: string;
  /** "at rest", "after seeding", "after the run", "at rest after the run", "at rest after a second pass" */
  when: string;
  rssMiB: number;
  heapUsedMiB: number | undefined;
}

/** CPU milliseconds per request by process, for one scenario. */
export interface CpuPerRequest {
  scenario: string;
  byProcess: Record<string, number>;
}

export interface MachineInfo {
  cores: number;
  memoryGiB: number;
  /** 1, 5 and 15 minute load averages at the start. */
  loadAverage: [number, number, number];
  node: string;
  /** Server name -> version, e.g. postgres -> 15.18. */
  servers: Record<string, string>;
  cpuModel: string;
}

export interface BenchReport {
  /** Bumped when the shape changes, so --compare can refuse what it cannot read. */
  format: 1;
  commit: string;
  startedAt: string;
  finishedAt: string;
  mode: "smoke" | "full";
  machine: MachineInfo;
  /** Windows, rounds, connections, sizes, generator parameters. */
  configuration: Record<string, unknown>;
  scenarios: ScenarioResult[];
  memory: MemorySample[];
  cpu: CpuPerRequest[];
}
