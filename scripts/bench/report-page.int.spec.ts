// The bench report's HTML page in a real browser: headless Chromium (Debian's, driven by
// playwright-core, launched as tests/e2e/docs-page.e2e.spec.ts launches it) opens the page written
// for a fixture run from a file, with no request but the file itself, and every chart is seen to
// draw: each canvas marked drawn by Chart.js's render, the page's count of drawn charts equal to its
// canvases, and pixels of the system's colour on every canvas. Needs no servers. A screenshot is
// kept in .local/screenshots/bench-report.png to look at.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { openBrowser } from "#tests/support/chromium.ts";
import { writeReport } from "./report.ts";
import { benchFixture } from "./report-fixture.ts";
import { chartSpecs } from "./report-html.ts";
import { assertChartsDrew, readReportPage } from "./report-page-check.ts";

const SCREENSHOT = path.resolve(import.meta.dirname, "../../.local/screenshots/bench-report.png");

let dir = "";
let browser: Awaited<ReturnType<typeof openBrowser>> | undefined;
const report = benchFixture();
const expected = chartSpecs(report).reduce(
  (count, entry) => count + 1 + entry.scenarios.reduce((sum, scenario) => sum + scenario.charts.length, 0),
  0,
);

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-bench-page-"));
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("the bench report's HTML page in Chromium", () => {
  test("opens offline from a file and draws every chart", async () => {
    assert.ok(browser, "the browser started");
    const { html } = writeReport(report, dir);
    assert.ok(expected > 5, "the fixture has charts of every kind to draw");
    const result = await readReportPage(browser.context, html, SCREENSHOT);
    assert.equal(result.canvases, expected, "a canvas for every chart the report specifies");
    assertChartsDrew(result);
    for (const ink of result.inks) {
      // Every chart of the fixture has the system's data in it.
      assert.ok(ink.system > 50, `chart ${ink.id} shows the system's data (${ink.system} pixels of its colour)`);
    }
  });
});
