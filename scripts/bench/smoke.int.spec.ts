// `npm run bench -- --smoke` as `npm test` runs it: the whole benchmark on 1k products with one
// round of short windows, on the local stack. It checks the report is well formed, with figures for
// every scenario (not that they are fast), and that every chart of its HTML page draws in Chromium.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { openBrowser } from "#tests/support/chromium.ts";
import { runScript } from "#tests/support/processes.ts";
import { SEARCH_SHAPES } from "./data.ts";
import { assertChartsDrew, readReportPage } from "./report-page-check.ts";
import type { BenchReport } from "./results.ts";

const out = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-bench-smoke-"));
const LIMIT_MS = 240_000;

after(() => fs.rmSync(out, { recursive: true, force: true }));

/** The scenario ids a smoke run must report, each with figures. */
const EXPECTED = [
  "read.cached",
  "read.uncached.1k",
  ...SEARCH_SHAPES.map((shape) => `search.${shape.id.replace(/^products-/, "")}.1k`),
  "create",
  "telemetry.create",
  "telemetry.read",
  "lag",
  "catch-up.1k",
  "rebuild.1k",
  "rebuild-reads.1k",
];

const runSmoke = () => runScript("scripts/bench.ts", ["--smoke", "--out", out], { limitMs: LIMIT_MS });

describe("npm run bench -- --smoke", () => {
  test("reports figures for every scenario, as JSON and as an HTML page whose charts all draw", async () => {
    const { code, output } = await runSmoke();
    assert.equal(code, 0, `the smoke run failed:\n${output.slice(-3000)}`);
    const report = JSON.parse(fs.readFileSync(path.join(out, "latest.json"), "utf8")) as BenchReport;
    assert.equal(report.format, 1);
    assert.equal(report.mode, "smoke");
    assert.ok(report.commit.length > 0 && report.machine.cores > 0 && report.machine.node.startsWith("v"));
    const ids = report.scenarios.map((s) => s.id);
    assert.deepEqual([...ids].sort(), [...EXPECTED].sort(), "every scenario, once");
    for (const scenario of report.scenarios) {
      assert.ok(["ok", "timed-out", "not-counted"].includes(scenario.status), `${scenario.id}: ${scenario.status}`);
      for (const subject of [scenario.system, ...scenario.baselines]) {
        const figures = [subject.median.rate, ...Object.values(subject.median.latency)];
        assert.ok(figures.every(Number.isFinite), `${scenario.id} ${subject.name}: every figure is a number`);
        assert.ok(subject.rounds.length >= 1, `${scenario.id} ${subject.name}: a measured round`);
      }
      assert.ok(
        scenario.targets.every((t) => t.met !== null),
        `${scenario.id}: targets judged`,
      );
    }
    // rebuild-reads too: its reads go through the gateway, so they must come before the catch-up
    // replaces the reader the gateway calls (they were all 503 while they came after it).
    for (const id of ["read.cached", "create", "telemetry.read", "rebuild-reads.1k"]) {
      const scenario = report.scenarios.find((s) => s.id === id);
      assert.ok(scenario && scenario.system.median.count > 0, `${id} answered requests`);
      assert.ok(Object.keys(scenario.ratios).length > 0, `${id} has a ratio to its baselines`);
    }
    for (const when of ["after the run", "at rest after the run", "at rest after a second pass"]) {
      assert.ok(
        report.memory.some((m) => m.when === when && m.service.startsWith("reader") && m.rssMiB > 0),
        `the reader's memory ${when}`,
      );
    }
    assert.match(output, /read\.cached again \d+\/s/, "the second pass read");
    assert.ok(report.cpu.length > 0, "CPU per request");
    assert.match(output, /Targets: \d+ met, \d+ missed/);

    const browser = await openBrowser();
    try {
      const page = await readReportPage(browser.context, path.join(out, "latest.html"));
      assert.ok(page.canvases >= EXPECTED.length, `a chart per scenario at least (${page.canvases})`);
      assertChartsDrew(page);
    } finally {
      await browser.close();
    }
  });
});
