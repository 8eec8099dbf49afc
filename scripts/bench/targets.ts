// The read side's targets, in the one file the report reads them from, so that what `npm run bench`
// judges is written down once and every judgement is a figure of the same run: a ratio to a
// baseline measured beside the system, or the system's own figures at two sizes. Each target names
// the scenario ids it reads; one whose scenario was not run (smoke mode has no 100k) is "not
// measured", never met.
import type { BenchReport, ScenarioResult, TargetResult, Window } from "./results.ts";

/** The search shapes of the read-side issue, and the data set sizes each (and the uncached read) is run at. */
export const SEARCH_SHAPES = ["q", "tag-price", "browse", "browse-next", "tag-by-price", "users-q"] as const;
export const SEARCH_SIZES = ["1k", "10k", "100k"] as const;

/** The baselines' names, as the runner names its subjects. */
export const BASELINES = {
  grpcRedis: "hono → grpc → redis",
  redis: "hono + redis",
  findOne: "hono + mongodb findOne",
  find: "hono + mongodb find",
  drizzle: "hono + drizzle transaction",
  kafka: "kafka round trip",
  telemetryOff: "telemetry off",
  insertMany: "bare insertMany",
  noRebuild: "no rebuild",
} as const;

/** The issue says 150 MB; the samples are in MiB, and the stricter reading is the one judged. */
export const MEMORY_LIMIT_MIB = 150e6 / 2 ** 20;
export const AFTER_THE_RUN = "after the run";
/**
 * The samples the growth target compares, each taken after the services idled for as long as their
 * memory trim needs to run (shared/platform/memory-trim.ts): at rest after the run, and at rest
 * again after the same services served their reads once more. Both at rest, so that neither holds
 * a burst's garbage the other has given back.
 */
export const AT_REST_AFTER_THE_RUN = "at rest after the run";
export const AT_REST_AFTER_A_SECOND_PASS = "at rest after a second pass";
/** How much a second pass may grow a service's resident memory, in percent. */
export const MEMORY_GROWTH_LIMIT_PERCENT = 5;

/** What a target's measured figure is: how the report prints it. */
export type MeasuredUnit = "ratio" | "ms over" | "events/s" | "MiB" | "%" | "503s";

export interface Check {
  measured: number | undefined;
  met: boolean | undefined;
  /** What the reader needs besides the figure (the parts of a difference, a second ratio). */
  note?: string;
}

export interface Target {
  /** Stable across runs, e.g. "search.q.scales"; `--compare` matches targets by it. */
  id: string;
  /** The scenario whose row the target belongs to; undefined for a run-wide target (memory). */
  scenario: string | undefined;
  /** Every scenario the target reads: with any of them missing it is not measured. */
  inputs: readonly string[];
  /** Self-contained, e.g. "search.q.100k: p50 ≤ 2 × p50 at 1k". */
  description: string;
  unit: MeasuredUnit;
  /** A target about errors judges a not-counted scenario itself rather than being missed for it. */
  judgesErrors?: boolean;
  /** Called only when every input is present; `scenario(id)` returns one of them. */
  check(scenario: (id: string) => ScenarioResult, report: BenchReport): Check;
}

/** A target judged on one report. */
export interface TargetOutcome extends TargetResult {
  id: string;
  scenario: string | undefined;
  unit: MeasuredUnit;
  note: string | undefined;
}

/** The system's rate over a baseline's: the runner's ratio, else worked out from the medians. */
export function ratioTo(result: ScenarioResult, baseline: string): number | undefined {
  const given = result.ratios[baseline];
  if (given !== undefined && Number.isFinite(given)) return given;
  const base = result.baselines.find((subject) => subject.name === baseline);
  if (!base || base.median.rate <= 0) return undefined;
  return result.system.median.rate / base.median.rate;
}

function baselineWindow(result: ScenarioResult, name: string): Window | undefined {
  return result.baselines.find((subject) => subject.name === name)?.median;
}

/** Answers of one status over every round of the system (a median would hide one bad round). */
export function statusCount(result: ScenarioResult, status: string): number {
  const rounds = result.system.rounds.length > 0 ? result.system.rounds : [result.system.median];
  return rounds.reduce((sum, round) => sum + (round.unexpected[status] ?? 0), 0);
}

const noBaseline = (name: string): Check => ({ measured: undefined, met: undefined, note: `no "${name}" baseline` });

function atLeastTimes(id: string, scenario: string, baseline: string, factor: number): Target {
  return {
    id,
    scenario,
    inputs: [scenario],
    description: `${scenario}: ≥ ${factor} × ${baseline}`,
    unit: "ratio",
    check(get) {
      const measured = ratioTo(get(scenario), baseline);
      if (measured === undefined) return noBaseline(baseline);
      return { measured, met: measured >= factor };
    },
  };
}

/** p50 at the large size over p50 at the small one, at most `factor`. */
function latencyScales(id: string, small: string, large: string, factor: number, sizes: string): Target {
  return {
    id,
    scenario: large,
    inputs: [small, large],
    description: `${large}: p50 ≤ ${factor} × p50 at ${sizes}`,
    unit: "ratio",
    check(get) {
      const smallP50 = get(small).system.median.latency.p50;
      const largeP50 = get(large).system.median.latency.p50;
      if (smallP50 <= 0) return { measured: undefined, met: undefined, note: `no p50 measured at ${small}` };
      const measured = largeP50 / smallP50;
      return { measured, met: measured <= factor, note: `${fixed(largeP50)} ms vs ${fixed(smallP50)} ms` };
    },
  };
}

function searchTargets(): Target[] {
  const targets: Target[] = [];
  for (const shape of SEARCH_SHAPES) {
    const at = (size: string) => `search.${shape}.${size}`;
    targets.push(latencyScales(`search.${shape}.scales`, at("1k"), at("100k"), 2, "1k"));
    for (const size of SEARCH_SIZES) {
      targets.push(atLeastTimes(`search.${shape}.${size}.vs-find`, at(size), BASELINES.find, 0.6));
      targets.push({
        id: `search.${shape}.${size}.no-503`,
        scenario: at(size),
        inputs: [at(size)],
        description: `${at(size)}: no 503 at 32 connections`,
        unit: "503s",
        judgesErrors: true,
        check(get) {
          const result = get(at(size));
          const measured = statusCount(result, "503");
          if (result.concurrency !== 32)
            return { measured, met: undefined, note: `run at ${result.concurrency} connections, not 32` };
          return { measured, met: measured === 0 };
        },
      });
    }
  }
  return targets;
}

/** The system's lag over the raw Kafka round trip at one percentile, at most `slackMs` more. */
function lagTarget(percentile: "p50" | "p99", slackMs: number): Target {
  return {
    id: `lag.${percentile}`,
    scenario: "lag",
    inputs: ["lag"],
    description: `lag: ${percentile} ≤ ${BASELINES.kafka} ${percentile} + ${slackMs} ms`,
    unit: "ms over",
    check(get) {
      const result = get("lag");
      const kafka = baselineWindow(result, BASELINES.kafka);
      if (!kafka) return noBaseline(BASELINES.kafka);
      const lag = result.system.median.latency[percentile];
      const roundTrip = kafka.latency[percentile];
      const measured = lag - roundTrip;
      return { measured, met: measured <= slackMs, note: `lag ${fixed(lag)} ms, round trip ${fixed(roundTrip)} ms` };
    },
  };
}

const cachedRead: Target = {
  ...atLeastTimes("read.cached.vs-chain", "read.cached", BASELINES.grpcRedis, 0.8),
  description: `read.cached: ≥ 0.8 × ${BASELINES.grpcRedis} (telemetry on)`,
  check(get) {
    const result = get("read.cached");
    const measured = ratioTo(result, BASELINES.grpcRedis);
    const single = ratioTo(result, BASELINES.redis);
    const note = single === undefined ? undefined : `${fixed(single)} × ${BASELINES.redis}`;
    if (measured === undefined) return { ...noBaseline(BASELINES.grpcRedis), ...(note ? { note } : {}) };
    return { measured, met: measured >= 0.8, ...(note ? { note } : {}) };
  },
};

const memory: Target = {
  id: "memory.rss",
  scenario: undefined,
  inputs: [],
  description: `memory: every service ≤ 150 MB (${fixed(MEMORY_LIMIT_MIB)} MiB) RSS after the full run`,
  unit: "MiB",
  check(_get, report) {
    const after = report.memory.filter((sample) => sample.when === AFTER_THE_RUN);
    if (after.length === 0) return { measured: undefined, met: undefined, note: `no "${AFTER_THE_RUN}" sample` };
    const largest = after.reduce((top, sample) => (sample.rssMiB > top.rssMiB ? sample : top));
    const note = `largest: ${largest.service}`;
    if (report.mode !== "full") return { measured: largest.rssMiB, met: undefined, note: `${note}; not a full run` };
    return { measured: largest.rssMiB, met: largest.rssMiB <= MEMORY_LIMIT_MIB, note };
  },
};

/**
 * A leak shows as growth under the same work repeated: each data set's services serve their reads
 * once more after the run, and none may hold more at rest afterwards than before, beyond the limit.
 */
const memoryGrowth: Target = {
  id: "memory.growth",
  scenario: undefined,
  inputs: [],
  description: `memory: a second pass over the same reads grows no service by more than ${MEMORY_GROWTH_LIMIT_PERCENT}% RSS`,
  unit: "%",
  check(_get, report) {
    const at = (when: string) => report.memory.filter((sample) => sample.when === when);
    const firsts = at(AT_REST_AFTER_THE_RUN).filter((sample) => sample.rssMiB > 0);
    if (firsts.length === 0)
      return { measured: undefined, met: undefined, note: `no "${AT_REST_AFTER_THE_RUN}" sample` };
    const seconds = new Map(at(AT_REST_AFTER_A_SECOND_PASS).map((sample) => [sample.service, sample.rssMiB]));
    // A service with no second sample exited, or the pass failed (run.ts then takes none): either is
    // a miss, not a service left out.
    const missing = firsts.filter((sample) => !seconds.has(sample.service)).map((sample) => sample.service);
    const growths = firsts
      .filter((sample) => seconds.has(sample.service))
      .map((sample) => {
        const second = seconds.get(sample.service) ?? 0;
        return { service: sample.service, first: sample.rssMiB, second, percent: (second / sample.rssMiB - 1) * 100 };
      });
    const largest = growths.reduce<(typeof growths)[number] | undefined>(
      (top, growth) => (top === undefined || growth.percent > top.percent ? growth : top),
      undefined,
    );
    const notes = [
      ...(largest ? [`largest: ${largest.service}, ${fixed(largest.first)} → ${fixed(largest.second)} MiB`] : []),
      ...(missing.length > 0 ? [`no sample after the second pass: ${missing.join(", ")}`] : []),
    ];
    if (report.mode !== "full") notes.push("not a full run");
    const met =
      report.mode !== "full"
        ? undefined
        : missing.length === 0 && largest !== undefined && largest.percent <= MEMORY_GROWTH_LIMIT_PERCENT;
    return { measured: largest?.percent, met, note: notes.join("; ") };
  },
};

export const TARGETS: readonly Target[] = [
  cachedRead,
  atLeastTimes("telemetry.read.on-off", "telemetry.read", BASELINES.telemetryOff, 0.85),
  atLeastTimes("telemetry.create.on-off", "telemetry.create", BASELINES.telemetryOff, 0.9),
  latencyScales("read.uncached.scales", "read.uncached.1k", "read.uncached.100k", 1.5, "1k"),
  ...SEARCH_SIZES.map((size) =>
    atLeastTimes(`read.uncached.${size}.vs-findOne`, `read.uncached.${size}`, BASELINES.findOne, 0.6),
  ),
  ...searchTargets(),
  atLeastTimes("create.vs-drizzle", "create", BASELINES.drizzle, 0.7),
  {
    id: "catch-up.scales",
    scenario: "catch-up.100k",
    inputs: ["catch-up.10k", "catch-up.100k"],
    description: "catch-up.100k: events/s ≥ 0.8 × events/s at 10k",
    unit: "ratio",
    check(get) {
      const small = get("catch-up.10k").system.median.rate;
      const large = get("catch-up.100k").system.median.rate;
      if (small <= 0) return { measured: undefined, met: undefined, note: "no rate measured at catch-up.10k" };
      const measured = large / small;
      return { measured, met: measured >= 0.8, note: `${fixed(large)} vs ${fixed(small)} events/s` };
    },
  },
  {
    id: "catch-up.100k.rate",
    scenario: "catch-up.100k",
    inputs: ["catch-up.100k"],
    description: "catch-up.100k: ≥ 1,000 events/s",
    unit: "events/s",
    check(get) {
      const measured = get("catch-up.100k").system.median.rate;
      return { measured, met: measured >= 1000 };
    },
  },
  lagTarget("p50", 15),
  lagTarget("p99", 50),
  atLeastTimes("rebuild.100k.vs-insertMany", "rebuild.100k", BASELINES.insertMany, 0.5),
  {
    id: "rebuild.100k.reads",
    scenario: "rebuild-reads.100k",
    inputs: ["rebuild-reads.100k"],
    description: "rebuild-reads.100k: p99 during a rebuild ≤ 2 × p99 without one",
    unit: "ratio",
    check(get) {
      const result = get("rebuild-reads.100k");
      const without = result.baselines.find((b) => b.name === BASELINES.noRebuild)?.median.latency.p99 ?? 0;
      if (without <= 0) return noBaseline(BASELINES.noRebuild);
      const measured = result.system.median.latency.p99 / without;
      return {
        measured,
        met: measured <= 2,
        note: `${fixed(result.system.median.latency.p99)} vs ${fixed(without)} ms`,
      };
    },
  },
  memory,
  memoryGrowth,
];

/** Judges every target on one report. */
export function evaluateTargets(report: BenchReport, targets: readonly Target[] = TARGETS): TargetOutcome[] {
  const byId = new Map(report.scenarios.map((result) => [result.id, result]));
  const get = (id: string): ScenarioResult => {
    const result = byId.get(id);
    if (!result) throw new Error(`target read ${id}, which it did not name as an input`);
    return result;
  };
  return targets.map((target) => {
    const outcome = (check: Check): TargetOutcome => ({
      id: target.id,
      scenario: target.scenario,
      description: target.description,
      unit: target.unit,
      measured: check.measured,
      met: check.met,
      note: check.note,
    });
    const missing = target.inputs.filter((id) => !byId.has(id));
    if (missing.length > 0)
      return outcome({ measured: undefined, met: undefined, note: `not run: ${missing.join(", ")}` });
    const inputs = target.inputs.map(get);
    const check = target.check(get, report);
    const notes = check.note ? [check.note] : [];
    const timedOut = inputs.filter((result) => result.status === "timed-out").map((result) => result.id);
    if (timedOut.length > 0) notes.push(`timed out: ${timedOut.join(", ")}`);
    const notCounted = inputs.filter((result) => result.status === "not-counted").map((result) => result.id);
    // Errors are the failure: a target resting on a scenario that had them is missed, not unmeasured.
    if (notCounted.length > 0 && !target.judgesErrors) {
      notes.push(`not counted: ${notCounted.join(", ")}`);
      return outcome({ measured: check.measured, met: false, note: notes.join("; ") });
    }
    return outcome({ ...check, note: notes.length > 0 ? notes.join("; ") : undefined });
  });
}

/** The report with each scenario's `targets` judged from this file (what the JSON keeps). */
export function withTargets(report: BenchReport, targets: readonly Target[] = TARGETS): BenchReport {
  const outcomes = evaluateTargets(report, targets);
  return {
    ...report,
    scenarios: report.scenarios.map((result) => ({
      ...result,
      targets: outcomes
        .filter((outcome) => outcome.scenario === result.id)
        .map(({ description, measured, met }): TargetResult => ({ description, measured, met })),
    })),
  };
}

function fixed(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
}
