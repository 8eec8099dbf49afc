// A bench report as a smoke run writes one, built by hand for the report's tests (the text table,
// the targets, the files, and the HTML page in Chromium), so they need no servers: scenarios with
// baselines of every kind, one timed out, one not counted for 503s, a lag series, and no 100k sizes.
import type { BenchReport, Latency, ScenarioResult, Subject, Window } from "./results.ts";
import { BASELINES } from "./targets.ts";

export interface WindowFigures {
  rate: number;
  /** p50, p90, p99, max in ms. */
  latency: [number, number, number, number];
  errors?: number;
  unexpected?: Record<string, number>;
  timedOut?: boolean;
}

export function window(figures: WindowFigures, seconds = 5): Window {
  const [p50, p90, p99, max] = figures.latency;
  const latency: Latency = { p50, p90, p99, max, mean: (p50 + p90) / 2 };
  return {
    rate: figures.rate,
    latency,
    count: Math.round(figures.rate * seconds),
    seconds,
    errors: figures.errors ?? 0,
    unexpected: figures.unexpected ?? {},
    timedOut: figures.timedOut ?? false,
  };
}

/** Three rounds around the median, the median itself the middle one. */
export function subject(name: string, figures: WindowFigures, description = `the ${name}`): Subject {
  const scaled = (factor: number): WindowFigures => ({
    ...figures,
    rate: figures.rate * factor,
    latency: [
      figures.latency[0] / factor,
      figures.latency[1] / factor,
      figures.latency[2] / factor,
      figures.latency[3] / factor,
    ],
  });
  const median = window(figures);
  return { name, description, rounds: [window(scaled(0.97)), median, window(scaled(1.02))], median };
}

export interface ScenarioFigures {
  id: string;
  title: string;
  size?: number;
  concurrency?: number;
  unit?: ScenarioResult["unit"];
  system: WindowFigures;
  baselines?: Record<string, WindowFigures>;
  status?: ScenarioResult["status"];
  series?: ScenarioResult["series"];
}

export function scenario(figures: ScenarioFigures): ScenarioResult {
  const system = subject("system", figures.system, "the gateway, reader and writer as npm start runs them");
  const baselines = Object.entries(figures.baselines ?? {}).map(([name, window]) => subject(name, window));
  return {
    id: figures.id,
    scenario: figures.id.split(".")[0] ?? figures.id,
    title: figures.title,
    size: figures.size,
    concurrency: figures.concurrency ?? 32,
    unit: figures.unit ?? "req/s",
    system,
    baselines,
    ratios: Object.fromEntries(baselines.map((baseline) => [baseline.name, system.median.rate / baseline.median.rate])),
    targets: [],
    status: figures.status ?? "ok",
    notes: [],
    ...(figures.series ? { series: figures.series } : {}),
  };
}

export function benchFixture(): BenchReport {
  const lagSeries: [number, number][] = Array.from({ length: 30 }, (_, second) => [
    second,
    8 + 4 * Math.sin(second / 3) + (second % 7),
  ]);
  return {
    format: 1,
    commit: "67f3b49c0ffee0123456789abcdef0123456789a",
    startedAt: "2025-06-01T10:00:00.000Z",
    finishedAt: "2025-06-01T10:04:12.000Z",
    mode: "smoke",
    machine: {
      cores: 2,
      memoryGiB: 7.75,
      loadAverage: [0.42, 0.35, 0.3],
      node: "v24.21.0",
      servers: { postgres: "15.18", mongodb: "FerretDB 1.24.0", redis: "7.4.1", kafka: "3.9.0" },
      cpuModel: "AMD EPYC 7B13",
    },
    configuration: { rounds: 3, warmupSeconds: 1, measureSeconds: 5, connections: 32, sizes: ["1k", "10k"] },
    scenarios: [
      scenario({
        id: "read.cached",
        title: "read by id, cached in Redis",
        size: 1000,
        system: { rate: 2400, latency: [12.1, 18.4, 31.2, 88.5] },
        baselines: {
          [BASELINES.grpcRedis]: { rate: 2800, latency: [10.4, 15.1, 25.9, 70.2] },
          [BASELINES.redis]: { rate: 6100, latency: [4.8, 7.2, 12.5, 40.1] },
        },
      }),
      scenario({
        id: "read.uncached.1k",
        title: "read by id, not cached",
        size: 1000,
        system: { rate: 900, latency: [33.5, 51.0, 80.4, 190.3] },
        baselines: { [BASELINES.findOne]: { rate: 1300, latency: [23.9, 36.2, 58.8, 150.0] } },
      }),
      scenario({
        id: "search.q.1k",
        title: "search: free text q",
        size: 1000,
        system: { rate: 610, latency: [50.2, 77.9, 120.4, 260.0] },
        baselines: { [BASELINES.find]: { rate: 700, latency: [44.0, 66.1, 101.3, 230.8] } },
      }),
      scenario({
        id: "search.q.10k",
        title: "search: free text q",
        size: 10_000,
        system: { rate: 450, latency: [40.1, 61.0, 95.2, 300.4], unexpected: { "503": 4 } },
        baselines: { [BASELINES.find]: { rate: 520, latency: [58.3, 90.0, 140.2, 310.9] } },
        status: "not-counted",
      }),
      scenario({
        id: "search.tag-price.1k",
        title: "search: tag (≈2%) with a price range",
        size: 1000,
        system: { rate: 300, latency: [101.0, 150.2, 240.9, 400.0] },
        baselines: { [BASELINES.find]: { rate: 800, latency: [38.0, 57.6, 90.1, 180.5] } },
      }),
      scenario({
        id: "create",
        title: "create a product",
        concurrency: 16,
        system: { rate: 350, latency: [44.8, 70.3, 110.0, 250.2] },
        baselines: { [BASELINES.drizzle]: { rate: 480, latency: [32.6, 50.0, 81.7, 170.4] } },
      }),
      scenario({
        id: "lag",
        title: "projection lag under sustained creates",
        concurrency: 8,
        unit: "events/s",
        system: { rate: 200, latency: [14.0, 22.0, 48.0, 95.0] },
        baselines: { [BASELINES.kafka]: { rate: 210, latency: [4.5, 8.0, 15.0, 40.0] } },
        series: { "lag ms": lagSeries },
      }),
      scenario({
        id: "catch-up.10k",
        title: "projection catch-up from the start of the topic",
        size: 10_000,
        concurrency: 1,
        unit: "events/s",
        system: { rate: 1800, latency: [0, 0, 0, 0], timedOut: true },
        status: "timed-out",
      }),
      scenario({
        id: "telemetry.read",
        title: "cached read, telemetry on vs off",
        system: { rate: 2300, latency: [12.9, 19.0, 33.1, 90.0] },
        baselines: { [BASELINES.telemetryOff]: { rate: 2600, latency: [11.2, 16.8, 28.4, 80.7] } },
      }),
      scenario({
        id: "telemetry.create",
        title: "create, telemetry on vs off",
        concurrency: 16,
        system: { rate: 340, latency: [46.0, 72.0, 112.0, 260.0] },
        baselines: { [BASELINES.telemetryOff]: { rate: 400, latency: [39.0, 61.0, 97.0, 220.0] } },
      }),
    ],
    memory: [
      { service: "gateway", when: "at rest", rssMiB: 71.2, heapUsedMiB: 18.4 },
      { service: "reader", when: "at rest", rssMiB: 88.9, heapUsedMiB: 24.1 },
      { service: "writer", when: "at rest", rssMiB: 92.3, heapUsedMiB: 26.0 },
      { service: "gateway", when: "after the run", rssMiB: 104.6, heapUsedMiB: 31.5 },
      { service: "reader", when: "after the run", rssMiB: 131.0, heapUsedMiB: 48.2 },
      { service: "writer", when: "after the run", rssMiB: 118.7, heapUsedMiB: undefined },
      { service: "reader", when: "at rest after the run", rssMiB: 131.0, heapUsedMiB: 40.2 },
      { service: "reader", when: "at rest after a second pass", rssMiB: 135.2, heapUsedMiB: 40.9 },
    ],
    cpu: [
      { scenario: "read.cached", byProcess: { gateway: 0.21, reader: 0.17, redis: 0.03, "load generator": 0.08 } },
      { scenario: "create", byProcess: { gateway: 0.35, writer: 0.92, postgres: 0.61, "load generator": 0.09 } },
    ],
  };
}
