// Holds the bench report to what the issue asks of it, with no servers: the targets judged on
// figures either side of each threshold (and "not measured", never met, when a scenario was not
// run), the text table with a row for every scenario and subject and its NOT COUNTED and timed-out
// marks, `--compare`'s percentages, and the JSON and offline HTML files writeReport leaves.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { compareReports, formatChange, parseReport, readReport } from "./compare.ts";
import { formatReport, writeReport } from "./report.ts";
import { benchFixture, type ScenarioFigures, scenario } from "./report-fixture.ts";
import { chartLibrary, chartSpecs } from "./report-html.ts";
import type { BenchReport, MemorySample } from "./results.ts";
import {
  BASELINES,
  evaluateTargets,
  MEMORY_LIMIT_MIB,
  SEARCH_SHAPES,
  SEARCH_SIZES,
  TARGETS,
  type TargetOutcome,
  withTargets,
} from "./targets.ts";

/** A report of just these scenarios (and memory samples), on the fixture's machine. */
function reportOf(scenarios: ScenarioFigures[], extra: Partial<BenchReport> = {}): BenchReport {
  return { ...benchFixture(), scenarios: scenarios.map(scenario), memory: [], cpu: [], ...extra };
}

function judged(report: BenchReport, id: string): TargetOutcome {
  const outcome = evaluateTargets(report).find((entry) => entry.id === id);
  assert.ok(outcome, `a target ${id}`);
  return outcome;
}

/** A scenario whose system runs at `rate` against one baseline at 100 req/s. */
function versus(id: string, baseline: string, rate: number, extra: Partial<ScenarioFigures> = {}): ScenarioFigures {
  return {
    id,
    title: id,
    system: { rate, latency: [10, 20, 30, 40] },
    baselines: { [baseline]: { rate: 100, latency: [8, 16, 24, 32] } },
    ...extra,
  };
}

/** The system's p50 at this size. */
const atP50 = (id: string, p50: number): ScenarioFigures => ({
  id,
  title: id,
  system: { rate: 100, latency: [p50, p50 * 2, p50 * 3, p50 * 4] },
});

describe("targets", () => {
  test("have unique ids, and every scenario-bound target reads its own scenario", () => {
    const ids = TARGETS.map((target) => target.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const target of TARGETS)
      if (target.scenario !== undefined) assert.ok(target.inputs.includes(target.scenario), target.id);
  });

  const ratioCases: [string, string, string, number][] = [
    ["read.cached.vs-chain", "read.cached", BASELINES.grpcRedis, 80],
    ["telemetry.read.on-off", "telemetry.read", BASELINES.telemetryOff, 85],
    ["telemetry.create.on-off", "telemetry.create", BASELINES.telemetryOff, 90],
    ["create.vs-drizzle", "create", BASELINES.drizzle, 70],
    ...SEARCH_SIZES.map((size): [string, string, string, number] => [
      `read.uncached.${size}.vs-findOne`,
      `read.uncached.${size}`,
      BASELINES.findOne,
      60,
    ]),
    ...SEARCH_SHAPES.flatMap((shape) =>
      SEARCH_SIZES.map((size): [string, string, string, number] => [
        `search.${shape}.${size}.vs-find`,
        `search.${shape}.${size}`,
        BASELINES.find,
        60,
      ]),
    ),
  ];
  for (const [id, scenarioId, baseline, threshold] of ratioCases) {
    test(`${id}: met at ${threshold / 100} × ${baseline}, missed just below, not measured when not run`, () => {
      const at = judged(reportOf([versus(scenarioId, baseline, threshold)]), id);
      assert.equal(at.met, true);
      assert.equal(at.measured, threshold / 100);
      assert.equal(judged(reportOf([versus(scenarioId, baseline, threshold - 0.5)]), id).met, false);
      const absent = judged(reportOf([]), id);
      assert.equal(absent.met, undefined);
      assert.equal(absent.measured, undefined);
      // A scenario run without the baseline the target is about cannot be judged either.
      const bare = judged(reportOf([{ ...versus(scenarioId, baseline, threshold), baselines: {} }]), id);
      assert.equal(bare.met, undefined);
    });
  }

  test("the cached read's target also reports the ratio to the single bare Hono + Redis app", () => {
    const figures = versus("read.cached", BASELINES.grpcRedis, 90);
    figures.baselines = { ...figures.baselines, [BASELINES.redis]: { rate: 200, latency: [1, 2, 3, 4] } };
    const outcome = judged(reportOf([figures]), "read.cached.vs-chain");
    assert.equal(outcome.met, true);
    assert.match(outcome.note ?? "", /0\.45 × hono \+ redis/);
  });

  for (const shape of SEARCH_SHAPES) {
    test(`search.${shape}: p50 at 100k ≤ 2 × p50 at 1k, needing both sizes`, () => {
      const small = atP50(`search.${shape}.1k`, 10);
      const id = `search.${shape}.scales`;
      assert.equal(judged(reportOf([small, atP50(`search.${shape}.100k`, 20)]), id).met, true);
      assert.equal(judged(reportOf([small, atP50(`search.${shape}.100k`, 20.1)]), id).met, false);
      assert.equal(judged(reportOf([small]), id).met, undefined, "smoke mode has no 100k: not measured");
    });
  }

  test("search: no 503 at 32 connections, counted over every round", () => {
    const id = "search.browse.10k.no-503";
    const clean = versus("search.browse.10k", BASELINES.find, 100);
    assert.equal(judged(reportOf([clean]), id).met, true);
    const shed = versus("search.browse.10k", BASELINES.find, 100, { status: "not-counted" });
    shed.system = { ...shed.system, unexpected: { "503": 1 } };
    const outcome = judged(reportOf([shed]), id);
    assert.equal(outcome.met, false);
    assert.equal(outcome.measured, 3, "one 503 in each of three rounds");
    const fewer = versus("search.browse.10k", BASELINES.find, 100, { concurrency: 16 });
    assert.equal(judged(reportOf([fewer]), id).met, undefined, "not run at 32 connections");
  });

  test("uncached read: p50 at 100k ≤ 1.5 × p50 at 1k", () => {
    const small = atP50("read.uncached.1k", 10);
    const id = "read.uncached.scales";
    assert.equal(judged(reportOf([small, atP50("read.uncached.100k", 15)]), id).met, true);
    assert.equal(judged(reportOf([small, atP50("read.uncached.100k", 15.1)]), id).met, false);
    assert.equal(judged(reportOf([atP50("read.uncached.100k", 15)]), id).met, undefined);
  });

  test("catch-up: events/s at 100k ≥ 0.8 × at 10k, and ≥ 1,000 events/s at 100k", () => {
    const events = (id: string, rate: number): ScenarioFigures => ({
      id,
      title: id,
      unit: "events/s",
      concurrency: 1,
      system: { rate, latency: [0, 0, 0, 0] },
    });
    const scales = (large: number) =>
      judged(reportOf([events("catch-up.10k", 2000), events("catch-up.100k", large)]), "catch-up.scales");
    assert.equal(scales(1600).met, true);
    assert.equal(scales(1599).met, false);
    const rate = (large: number) => judged(reportOf([events("catch-up.100k", large)]), "catch-up.100k.rate");
    assert.equal(rate(1000).met, true);
    assert.equal(rate(999).met, false);
    assert.equal(judged(reportOf([events("catch-up.10k", 2000)]), "catch-up.100k.rate").met, undefined);
    assert.equal(judged(reportOf([events("catch-up.100k", 2000)]), "catch-up.scales").met, undefined);
  });

  test("lag: p50 ≤ the Kafka round trip's p50 + 15 ms, p99 ≤ its p99 + 50 ms", () => {
    const lag = (p50: number, p99: number): BenchReport =>
      reportOf([
        {
          id: "lag",
          title: "lag",
          unit: "events/s",
          system: { rate: 200, latency: [p50, p50, p99, p99] },
          baselines: { [BASELINES.kafka]: { rate: 200, latency: [5, 6, 10, 12] } },
        },
      ]);
    assert.deepEqual(
      [judged(lag(20, 60), "lag.p50").met, judged(lag(20, 60), "lag.p99").met],
      [true, true],
      "exactly at both limits",
    );
    assert.equal(judged(lag(20, 60), "lag.p50").measured, 15);
    assert.equal(judged(lag(20.5, 60), "lag.p50").met, false);
    assert.equal(judged(lag(20, 60.5), "lag.p99").met, false);
    assert.equal(judged(reportOf([]), "lag.p50").met, undefined);
  });

  test("memory: every service ≤ 150 MB RSS after a full run; a smoke run's is not measured", () => {
    const after = (rssMiB: number): MemorySample[] => [
      { service: "gateway", when: "after the run", rssMiB: 90, heapUsedMiB: 30 },
      { service: "reader", when: "after the run", rssMiB, heapUsedMiB: 40 },
      { service: "reader", when: "at rest", rssMiB: 500, heapUsedMiB: 40 },
    ];
    const memory = (samples: MemorySample[], mode: BenchReport["mode"] = "full") =>
      judged(reportOf([], { memory: samples, mode }), "memory.rss");
    assert.equal(memory(after(143)).met, true, "the sample at rest does not count");
    assert.equal(memory(after(MEMORY_LIMIT_MIB + 0.01)).met, false);
    assert.match(memory(after(MEMORY_LIMIT_MIB + 0.01)).note ?? "", /reader/);
    assert.equal(memory(after(100), "smoke").met, undefined);
    assert.equal(memory([]).met, undefined);
  });

  test("memory: a second pass grows no service by more than 5%, each against its own sample at rest after the run", () => {
    const samples = (readerAgain: number): MemorySample[] => [
      { service: "gateway (bench_1k)", when: "at rest after the run", rssMiB: 100, heapUsedMiB: 30 },
      { service: "gateway (bench_1k)", when: "at rest after a second pass", rssMiB: 104, heapUsedMiB: 30 },
      { service: "reader (bench_1k)", when: "at rest after the run", rssMiB: 120, heapUsedMiB: 40 },
      // Right after the load, before the rest: not what the growth is measured from.
      { service: "reader (bench_1k)", when: "after the run", rssMiB: 250, heapUsedMiB: 70 },
      { service: "reader (bench_1k)", when: "at rest after a second pass", rssMiB: readerAgain, heapUsedMiB: 40 },
      // Another data set's reader: compared with its own first sample, not with bench_1k's.
      { service: "reader (bench_10k)", when: "at rest after the run", rssMiB: 200, heapUsedMiB: 40 },
      { service: "reader (bench_10k)", when: "at rest after a second pass", rssMiB: 130, heapUsedMiB: 40 },
    ];
    const growth = (list: MemorySample[], mode: BenchReport["mode"] = "full") =>
      judged(reportOf([], { memory: list, mode }), "memory.growth");
    assert.equal(growth(samples(125.9)).met, true, "just under 5%");
    assert.ok(Math.abs((growth(samples(125.9)).measured ?? 0) - 4.9166) < 1e-3, "in percent, the reader's");
    const grown = growth(samples(126.5));
    assert.equal(grown.met, false);
    assert.match(grown.note ?? "", /reader \(bench_1k\), 120 → 127 MiB/);
    assert.equal(growth(samples(100)).met, true, "shrinking is no growth");
    assert.equal(growth(samples(130), "smoke").met, undefined, "a smoke run's is not judged");
    const exited = growth(
      samples(120).filter(
        (sample) => sample.service !== "reader (bench_10k)" || sample.when !== "at rest after a second pass",
      ),
    );
    assert.equal(exited.met, false, "a service with no sample after the second pass misses");
    assert.match(exited.note ?? "", /no sample after the second pass: reader \(bench_10k\)/);
    assert.equal(growth(samples(130).filter((sample) => sample.when !== "at rest after the run")).met, undefined);
  });

  test("a target resting on a not-counted scenario is missed; on a timed-out one it is judged and noted", () => {
    const notCounted = judged(
      reportOf([versus("create", BASELINES.drizzle, 95, { status: "not-counted" })]),
      "create.vs-drizzle",
    );
    assert.equal(notCounted.met, false);
    assert.equal(notCounted.measured, 0.95);
    assert.match(notCounted.note ?? "", /not counted: create/);
    const timedOut = judged(
      reportOf([versus("create", BASELINES.drizzle, 95, { status: "timed-out" })]),
      "create.vs-drizzle",
    );
    assert.equal(timedOut.met, true);
    assert.match(timedOut.note ?? "", /timed out: create/);
  });

  test("withTargets puts each scenario's judged targets in its row, replacing what was there", () => {
    const report = withTargets(benchFixture());
    const cached = report.scenarios.find((result) => result.id === "read.cached");
    assert.deepEqual(
      cached?.targets.map((target) => [target.description, target.met]),
      [["read.cached: ≥ 0.8 × hono → grpc → redis (telemetry on)", true]],
    );
  });
});

describe("formatReport", () => {
  const report = benchFixture();
  const text = formatReport(report);
  const lines = text.split("\n");
  const rowOf = (scenarioId: string, subject: string): string => {
    const start = lines.findIndex((line) => line.startsWith(`${scenarioId}: `));
    assert.ok(start >= 0, `a row group for ${scenarioId}`);
    const row = lines.slice(start + 1).find((line) => line.startsWith(`  ${subject} `));
    assert.ok(row, `a row for ${subject} in ${scenarioId}`);
    return row;
  };

  test("starts with the machine, the commit and the mode", () => {
    assert.match(lines[0] ?? "", /^npm run bench: smoke run of commit 67f3b49c0ffee/);
    assert.match(text, /machine: 2 cores \(AMD EPYC 7B13\), 7\.75 GiB memory, load average 0\.42 0\.35 0\.30/);
    assert.match(text, /Node v24\.21\.0/);
    assert.match(text, /servers: postgres 15\.18, mongodb FerretDB 1\.24\.0, redis 7\.4\.1, kafka 3\.9\.0/);
    assert.match(text, /configuration: rounds 3, warmupSeconds 1, measureSeconds 5, connections 32/);
  });

  test("has a row for every scenario's system and each of its baselines, aligned", () => {
    for (const result of report.scenarios)
      for (const subject of [result.system, ...result.baselines]) rowOf(result.id, subject.name);
    const header = lines.find((line) => line.startsWith("scenario / subject"));
    assert.ok(header);
    const rateEnd = header.indexOf("rate") + "rate".length;
    // Right-aligned: every rate ends under its header.
    for (const result of report.scenarios)
      assert.equal(rowOf(result.id, "system").indexOf(result.unit) + result.unit.length, rateEnd, result.id);
  });

  test("shows rate with its unit, the percentiles, errors and statuses, ratios and status", () => {
    const system = rowOf("read.cached", "system");
    assert.match(system, /2,400 req\/s\s+12\.1\s+18\.4\s+31\.2\s+88\.5\s+0\s+0\s+ok$/);
    assert.match(rowOf("read.cached", "hono → grpc → redis"), /2,800 req\/s.*0\.86×$/);
    assert.match(rowOf("read.cached", "hono + redis"), /0\.39×$/);
    assert.match(rowOf("search.q.10k", "system"), /503×12\s+NOT COUNTED$/);
    assert.match(rowOf("catch-up.10k", "system"), /1,800 events\/s.*timed out$/);
    assert.match(rowOf("lag", "kafka round trip"), /210 events\/s/);
  });

  test("lists the targets met, missed and not measured, with the measured figure", () => {
    assert.match(text, /Targets: \d+ met, \d+ missed, \d+ not measured/);
    const target = (description: string) => {
      const line = lines.find((entry) => entry.includes(description));
      assert.ok(line, description);
      return line;
    };
    assert.match(target("read.cached: ≥ 0.8 × hono → grpc → redis"), /^ {2}met .*0\.86×\s+0\.39 × hono \+ redis$/);
    assert.match(target("telemetry.create: ≥ 0.9 × telemetry off"), /^ {2}MISSED .*0\.85×/);
    assert.match(target("search.q.10k: no 503"), /^ {2}MISSED .*12 × 503/);
    assert.match(target("search.q.10k: ≥ 0.6"), /^ {2}MISSED .*not counted: search\.q\.10k/);
    assert.match(target("search.q.100k: p50 ≤ 2 × p50 at 1k"), /^ {2}not measured .*not run: search\.q\.100k/);
    assert.match(target("lag: p50"), /^ {2}met .*\+9\.50 ms/);
    assert.match(target("memory: every service"), /^ {2}not measured .*131 MiB.*not a full run/);
    assert.match(target("memory: a second pass"), /^ {2}not measured .*\+3\.2%.*reader, 131 → 135 MiB; not a full run/);
  });

  test("memory's columns follow the run: the samples before the scenarios first, whichever set took them", () => {
    const memory: MemorySample[] = [
      { service: "reader (bench_1k)", when: "at rest", rssMiB: 150, heapUsedMiB: 33 },
      { service: "reader (bench_1k)", when: "after the run", rssMiB: 131, heapUsedMiB: 32 },
      { service: "reader (bench_10k)", when: "after seeding", rssMiB: 149, heapUsedMiB: 33 },
      { service: "reader (bench_10k)", when: "after the run", rssMiB: 127, heapUsedMiB: 32 },
    ];
    assert.match(formatReport(reportOf([], { memory })), /\n\s+at rest\s+after seeding\s+after the run\n/);
  });

  test("ends with memory per service and point, and CPU per request by process", () => {
    assert.match(
      text,
      /Memory \(MiB, RSS \/ heap used\)\n\s+at rest\s+after the run\s+at rest after the run\s+at rest after a second pass\n\s+gateway\s+71\.2 \/ 18\.4\s+105 \/ 31\.5\s+—\s+—\n/,
    );
    assert.match(text, /writer\s+92\.3 \/ 26\.0\s+119 \/ —/);
    assert.match(
      text,
      /CPU ms per request \(per event for catch-up\), by process\n\s+gateway\s+reader\s+redis\s+load generator\s+writer\s+postgres/,
    );
    assert.match(text, /create\s+0\.350\s+—\s+—\s+0\.090\s+0\.920\s+0\.610/);
  });
});

describe("compareReports", () => {
  const earlier = benchFixture();
  earlier.commit = "1111111";
  const current = benchFixture();
  const cached = current.scenarios.find((result) => result.id === "read.cached");
  assert.ok(cached);
  cached.system.median = {
    ...cached.system.median,
    rate: 3000,
    latency: { ...cached.system.median.latency, p50: 9.68 },
  };
  cached.ratios[BASELINES.grpcRedis] = 3000 / 2800;
  current.scenarios = current.scenarios.filter((result) => result.id !== "telemetry.create");
  current.scenarios.push(scenario(versus("search.browse.1k", BASELINES.find, 70)));
  const text = compareReports(current, earlier);

  test("gives the change per figure as a percentage, marked better or worse", () => {
    assert.match(text, /system\s+rate\s+2,400 req\/s\s+3,000 req\/s\s+\+25\.0% better/);
    assert.match(text, /p50\s+12\.1 ms\s+9\.68 ms\s+-20\.0% better/);
    assert.match(text, /ratio\s+0\.86×\s+1\.07×\s+\+25\.0% better/);
    assert.match(text, /p99\s+31\.2 ms\s+31\.2 ms\s+same/);
    assert.equal(formatChange(10, 12, false), "+20.0% worse");
    assert.equal(formatChange(100, 90, true), "-10.0% worse");
    assert.equal(formatChange(0, 5, true), "n/a (was 0)");
  });

  test("lists scenarios in only one of the runs, and targets whose verdict changed", () => {
    assert.match(text, /Added \(not in the earlier run\): search\.browse\.1k/);
    assert.match(text, /Removed \(only in the earlier run\): telemetry\.create/);
    assert.match(text, /search\.browse\.1k: ≥ 0\.6 × hono \+ mongodb find: not measured → met/);
  });

  test("refuses a report of another format", () => {
    const other = { ...earlier, format: 2 } as unknown as BenchReport;
    assert.throws(() => compareReports(current, other), /format 2/);
    assert.throws(
      () => parseReport(JSON.stringify(other), "old.json"),
      /old\.json has format 2; this bench reads format 1/,
    );
    assert.throws(() => parseReport("{}", "x.json"), /not a bench report/);
  });
});

describe("writeReport", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-bench-report-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const report = benchFixture();
  const written = writeReport(report, dir);
  const html = fs.readFileSync(written.html, "utf8");

  test("names the files by the run's start, with latest.* copies", () => {
    assert.equal(path.basename(written.json), "bench-2025-06-01T10-00-00Z.json");
    assert.equal(path.basename(written.html), "bench-2025-06-01T10-00-00Z.html");
    assert.deepEqual(fs.readFileSync(written.latestJson), fs.readFileSync(written.json));
    assert.deepEqual(fs.readFileSync(written.latestHtml), fs.readFileSync(written.html));
  });

  test("writes JSON that reads back as the same report, with its targets judged", () => {
    const back = readReport(written.json);
    assert.deepEqual(back, JSON.parse(JSON.stringify(withTargets(report))));
    assert.equal(back.commit, report.commit);
    assert.deepEqual(back.configuration, report.configuration);
    assert.ok(back.scenarios.some((result) => result.targets.length > 0));
    // What --compare reads: the run against itself changes nothing.
    assert.doesNotMatch(compareReports(back, back), /% (better|worse)/);
  });

  test("writes one HTML file with Chart.js inlined and nothing loaded from a URL", () => {
    assert.ok(html.includes(chartLibrary().source), "the library's source is in the page");
    assert.match(html, /Chart\.js v4\./);
    const tags = html.match(/<(script|link|img|iframe)\b[^>]*>/gi) ?? [];
    for (const tag of tags) assert.doesNotMatch(tag, /\b(src|href)\s*=/i, tag);
    assert.doesNotMatch(html, /sourceMappingURL/);
    assert.doesNotMatch(html, /<link\b/i);
  });

  test("carries the run's data and a canvas for every chart", () => {
    const data = html.match(/<script type="application\/json" id="bench-data">([^<]*)<\/script>/);
    assert.ok(data?.[1], "the data script");
    const parsed: { report: BenchReport; charts: { id: string }[] } = JSON.parse(data[1]);
    assert.equal(parsed.report.commit, report.commit);
    assert.deepEqual(
      parsed.report.scenarios.map((result) => result.id),
      report.scenarios.map((result) => result.id),
    );
    const canvases = [...html.matchAll(/<canvas data-chart-id="([^"]+)"/g)].map((match) => match[1]);
    assert.deepEqual(
      canvases,
      parsed.charts.map((chart) => chart.id.replaceAll("&", "&amp;")),
    );
    // Every scenario with latency has its chart, the lag its series, each group its rate chart.
    const specs = chartSpecs(report);
    assert.ok(canvases.includes("latency:read.cached"));
    assert.ok(canvases.includes("series:lag"));
    assert.ok(!canvases.includes("latency:catch-up.10k"), "catch-up has no latency to draw");
    assert.equal(specs.length, new Set(report.scenarios.map((result) => `${result.scenario} (${result.unit})`)).size);
  });
});
