// Opening a bench report's HTML page in a real browser (Debian's Chromium, driven by
// playwright-core, tests/support/chromium.ts) and reading back whether every chart
// drew: for the fixture's page test and for the smoke run's own report.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { BrowserContext } from "playwright-core";
import { eventually } from "#tests/support/wait.ts";
import { SYSTEM_COLOUR } from "./report-html.ts";

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
export interface CanvasInk {
  id: string | undefined;
  drawn: string | undefined;
  width: number;
  height: number;
  /** Pixels not transparent. */
  inked: number;
  /** Pixels of the system's colour (bars filled with it, or its line). */
  system: number;
}

export interface PageResult {
  canvases: number;
  drawn: string | undefined;
  inks: CanvasInk[];
  /** Every URL the page requested (the file itself, if nothing else). */
  requests: string[];
  url: string;
  errors: string[];
}

/** Opens `html`, waits (bounded) until every canvas is drawn, and reads each canvas's pixels. */
export async function readReportPage(context: BrowserContext, html: string, screenshot?: string): Promise<PageResult> {
  const url = pathToFileURL(html).href;
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (request) => requests.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(url, { waitUntil: "load" });
  const canvases = await page.locator("canvas").count();
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
  if (screenshot) {
    fs.mkdirSync(path.dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
  }
  await page.close();
  return { canvases, drawn, inks, requests, url, errors };
}

/** Every chart rendered by Chart.js, with a size, and not blank (axes and titles alone ink a few percent). */
export function assertChartsDrew(result: PageResult): void {
  assert.equal(result.drawn, String(result.canvases));
  for (const ink of result.inks) {
    const what = `chart ${ink.id} (${ink.width}×${ink.height}, ${ink.inked} pixels inked)`;
    assert.equal(ink.drawn, "true", `${what} was rendered by Chart.js`);
    assert.ok(ink.width > 100 && ink.height > 100, `${what} has a size`);
    assert.ok(ink.inked > ink.width * ink.height * 0.02, `${what} is not blank`);
  }
  assert.deepEqual(result.requests, [result.url], "nothing but the page itself was loaded");
  assert.deepEqual(result.errors, [], "no errors on the console");
}
