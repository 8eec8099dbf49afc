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
import { pathToFileURL } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { eventually } from "#tests/support/wait.ts";
import { writeReport } from "./report.ts";
import { benchFixture } from "./report-fixture.ts";
import { chartSpecs, SYSTEM_COLOUR } from "./report-html.ts";

const CHROMIUM = "/usr/bin/chromium";
// This machine has no way out: no first-run, sync, component updates or background traffic.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCREENSHOT = path.resolve(import.meta.dirname, "../../.local/screenshots/bench-report.png");

// The page's side, typed by hand: the project's TypeScript has no DOM library, and these
// functions run in the browser, not here.
interface PageCanvas {
  dataset: { chartId?: string; drawn?: string };
  width: number;
  height: number;
  getContext(
    kind: "2d",
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
interface PageGlobal {
  document: {
    body: { dataset: { chartsDrawn?: string; chartsError?: string } };
    querySelectorAll(selector: "canvas"): Iterable<PageCanvas>;
  };
}
interface CanvasInk {
  id: string | undefined;
  drawn: string | undefined;
  width: number;
  height: number;
  /** Pixels not transparent. */
  inked: number;
  /** Pixels of the system's colour (bars filled with it, or its line). */
  system: number;
}

let dir = "";
let userDataDir = "";
let context: BrowserContext | undefined;
const report = benchFixture();
const expected = chartSpecs(report).reduce(
  (count, entry) => count + 1 + entry.scenarios.reduce((sum, scenario) => sum + scenario.charts.length, 0),
  0,
);

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (npm test installs it)`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-bench-page-"));
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-bench-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  await context?.close();
  for (const folder of [dir, userDataDir]) if (folder) fs.rmSync(folder, { recursive: true, force: true });
});

describe("the bench report's HTML page in Chromium", () => {
  test("opens offline from a file and draws every chart", async () => {
    assert.ok(context, "the browser started");
    const { html } = writeReport(report, dir);
    const url = pathToFileURL(html).href;
    const page: Page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(url, { waitUntil: "load" });

    assert.ok(expected > 5, "the fixture has charts of every kind to draw");
    const canvases = await page.locator("canvas").count();
    assert.equal(canvases, expected, "a canvas for every chart the report specifies");
    const drawn = await eventually(
      `${canvases} charts drawn`,
      async () => {
        const state = await page.evaluate(() => {
          const { body } = (globalThis as unknown as PageGlobal).document;
          return { drawn: body.dataset.chartsDrawn, error: body.dataset.chartsError };
        });
        if (state.error) throw new Error(`the page failed to draw: ${state.error}`);
        return state.drawn === String(canvases) ? state.drawn : undefined;
      },
      15_000,
    );
    assert.equal(drawn, String(expected));

    const hex = SYSTEM_COLOUR.slice(1);
    const colour = [0, 2, 4].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
    const inks = await page.evaluate((target: number[]): CanvasInk[] => {
      const [red = 0, green = 0, blue = 0] = target;
      return [...(globalThis as unknown as PageGlobal).document.querySelectorAll("canvas")].map((canvas) => {
        const pixels = canvas.getContext("2d")?.getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = 0;
        let system = 0;
        for (let at = 0; pixels && at < pixels.length; at += 4) {
          const alpha = pixels[at + 3] ?? 0;
          if (alpha > 0) inked++;
          const distance =
            Math.abs((pixels[at] ?? 0) - red) +
            Math.abs((pixels[at + 1] ?? 0) - green) +
            Math.abs((pixels[at + 2] ?? 0) - blue);
          if (alpha > 200 && distance < 60) system++;
        }
        const { chartId: id, drawn } = canvas.dataset;
        return { id, drawn, width: canvas.width, height: canvas.height, inked, system };
      });
    }, colour);

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    assert.equal(inks.length, expected);
    for (const ink of inks) {
      const what = `chart ${ink.id} (${ink.width}×${ink.height}, ${ink.inked} pixels inked, ${ink.system} of the system's colour)`;
      assert.equal(ink.drawn, "true", `${what} was rendered by Chart.js`);
      assert.ok(ink.width > 100 && ink.height > 100, `${what} has a size`);
      // Axes, ticks and titles alone ink a few percent; the data itself must be there too.
      assert.ok(ink.inked > ink.width * ink.height * 0.02, `${what} is not blank`);
      assert.ok(ink.system > 50, `${what} shows the system's data`);
    }
    assert.deepEqual(requests, [url], "nothing but the page itself was loaded");
    assert.deepEqual(errors, [], "no errors on the console");
    await page.close();
  });
});
