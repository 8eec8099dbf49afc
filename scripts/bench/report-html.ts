// The bench run as one HTML file that opens anywhere, offline: inline CSS, the run's data as JSON
// in the page, and Chart.js's UMD build inlined from node_modules (nothing is loaded from a URL).
// The charts are specified here, in TypeScript, as plain JSON; the page's own script only hands
// each to Chart.js and marks it drawn, which is what the browser test waits for and checks.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { BenchReport, ScenarioResult, Subject } from "./results.ts";
import type { TargetOutcome } from "./targets.ts";

/** The system is drawn in this colour on every chart (the browser test looks for its pixels). */
export const SYSTEM_COLOUR = "#2563eb";
/** Baselines take these in order of first appearance in the run, the same on every chart. */
const BASELINE_COLOURS = ["#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b", "#ec4899", "#14b8a6"];

/** The part of a Chart.js configuration these charts use, as it is written into the page. */
export interface ChartDataset {
  label: string;
  data: (number | null)[] | { x: number; y: number }[];
  backgroundColor: string;
  borderColor: string;
  borderWidth?: number;
  pointRadius?: number;
}
export interface ChartSpec {
  /** The canvas's data-chart-id. */
  id: string;
  kind: "latency" | "rate" | "series";
  config: {
    type: "bar" | "line";
    data: { labels?: string[]; datasets: ChartDataset[] };
    options: Record<string, unknown>;
  };
}

interface Group {
  key: string;
  scenario: string;
  unit: ScenarioResult["unit"];
  results: ScenarioResult[];
}

/** Scenarios of one kind and unit, in run order: each group gets one rate chart. */
function groupsOf(report: BenchReport): Group[] {
  const groups = new Map<string, Group>();
  for (const result of report.scenarios) {
    const key = `${result.scenario} (${result.unit})`;
    const group = groups.get(key) ?? { key, scenario: result.scenario, unit: result.unit, results: [] };
    group.results.push(result);
    groups.set(key, group);
  }
  return [...groups.values()];
}

function colours(report: BenchReport): (name: string) => string {
  const names = [...new Set(report.scenarios.flatMap((result) => result.baselines.map((subject) => subject.name)))];
  return (name) =>
    name === "system"
      ? SYSTEM_COLOUR
      : (BASELINE_COLOURS[names.indexOf(name) % BASELINE_COLOURS.length] ?? BASELINE_COLOURS[0] ?? SYSTEM_COLOUR);
}

function options(title: string, xTitle: string | undefined, yTitle: string, linearX = false): Record<string, unknown> {
  return {
    // Drawn once, at once: the page marks a chart drawn in the render that follows its creation.
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    plugins: { title: { display: true, text: title }, legend: { position: "bottom" } },
    scales: {
      x: { ...(linearX ? { type: "linear" } : {}), ...(xTitle ? { title: { display: true, text: xTitle } } : {}) },
      y: { beginAtZero: true, title: { display: true, text: yTitle } },
    },
  };
}

function dataset(label: string, data: ChartDataset["data"], colour: string): ChartDataset {
  return { label, data, backgroundColor: colour, borderColor: colour };
}

const subjectsOf = (result: ScenarioResult): Subject[] => [result.system, ...result.baselines];

function latencyChart(result: ScenarioResult, colour: (name: string) => string): ChartSpec | undefined {
  const figures = (subject: Subject) => {
    const { p50, p90, p99, max } = subject.median.latency;
    return [p50, p90, p99, max];
  };
  // A scenario measured in events applied (catch-up) may have no latency at all: nothing to draw.
  if (subjectsOf(result).every((subject) => figures(subject).every((value) => value === 0))) return undefined;
  return {
    id: `latency:${result.id}`,
    kind: "latency",
    config: {
      type: "bar",
      data: {
        labels: ["p50", "p90", "p99", "max"],
        datasets: subjectsOf(result).map((subject) => dataset(subject.name, figures(subject), colour(subject.name))),
      },
      options: options("latency: p50, p90, p99, max", undefined, "ms"),
    },
  };
}

function rateChart(group: Group, colour: (name: string) => string): ChartSpec {
  const names = [...new Set(group.results.flatMap((result) => subjectsOf(result).map((subject) => subject.name)))];
  const rateOf = (result: ScenarioResult, name: string) =>
    subjectsOf(result).find((subject) => subject.name === name)?.median.rate ?? null;
  return {
    id: `rate:${group.key}`,
    kind: "rate",
    config: {
      type: "bar",
      data: {
        labels: group.results.map((result) => result.id),
        datasets: names.map((name) =>
          dataset(
            name,
            group.results.map((result) => rateOf(result, name)),
            colour(name),
          ),
        ),
      },
      // A subject missing from a scenario leaves no gap in its group of bars.
      options: { ...options("rate (medians over the rounds)", undefined, group.unit), skipNull: true },
    },
  };
}

function seriesChart(result: ScenarioResult, colour: (name: string) => string): ChartSpec | undefined {
  const series = Object.entries(result.series ?? {}).filter(([, points]) => points.length > 0);
  if (series.length === 0) return undefined;
  return {
    id: `series:${result.id}`,
    kind: "series",
    config: {
      type: "line",
      data: {
        datasets: series.map(([name, points], index) => ({
          ...dataset(
            name,
            points.map(([x, y]) => ({ x, y })),
            index === 0 ? colour("system") : (BASELINE_COLOURS[index - 1] ?? colour(name)),
          ),
          borderWidth: 2,
          // Per-event series run to thousands of points: then the line alone says it.
          pointRadius: points.length > 200 ? 0 : 2,
        })),
      },
      options: options("over the run", "seconds since start", series.map(([name]) => name).join(", "), true),
    },
  };
}

/** Every chart of the page, grouped as the page shows them. */
export function chartSpecs(
  report: BenchReport,
): { group: Group; rate: ChartSpec; scenarios: { result: ScenarioResult; charts: ChartSpec[] }[] }[] {
  const colour = colours(report);
  return groupsOf(report).map((group) => ({
    group,
    rate: rateChart(group, colour),
    scenarios: group.results.map((result) => ({
      result,
      charts: [latencyChart(result, colour), seriesChart(result, colour)].filter((spec) => spec !== undefined),
    })),
  }));
}

/** Chart.js's UMD build, read from node_modules when the report is written. */
export function chartLibrary(): { source: string; version: string } {
  // The package's exports hide dist/ but its CommonJS entry sits beside the UMD build there.
  const entry = createRequire(import.meta.url).resolve("chart.js");
  const dist = path.dirname(entry);
  const manifest: unknown = JSON.parse(fs.readFileSync(path.join(dist, "..", "package.json"), "utf8"));
  const version =
    typeof manifest === "object" && manifest !== null && "version" in manifest ? String(manifest.version) : "unknown";
  const source = fs
    .readFileSync(path.join(dist, "chart.umd.min.js"), "utf8")
    // The source map is not shipped with the page: no reference to a file that is not there.
    .replace(/\n?\/\/# sourceMappingURL=\S*\s*$/, "\n")
    .replaceAll("</script", "<\\/script");
  return { source, version };
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** JSON that cannot end its <script> element early. */
function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll("<", "\\u003c")
    .replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

// The page's script: plain JS run by the browser, checked by report-page.int.spec.ts.
const PAGE_SCRIPT = `
(() => {
  const data = JSON.parse(document.getElementById("bench-data").textContent);
  const drawn = new Set();
  const marker = {
    id: "bench-drawn",
    afterRender(chart) {
      chart.canvas.dataset.drawn = "true";
      drawn.add(chart.canvas.dataset.chartId);
      document.body.dataset.chartsDrawn = String(drawn.size);
    },
  };
  try {
    if (typeof Chart !== "function") throw new Error("Chart.js did not load");
    for (const spec of data.charts) {
      const canvas = document.querySelector('canvas[data-chart-id="' + CSS.escape(spec.id) + '"]');
      if (!canvas) throw new Error("no canvas for chart " + spec.id);
      new Chart(canvas, { ...spec.config, plugins: [marker] });
    }
  } catch (error) {
    document.body.dataset.chartsError = String(error instanceof Error ? error.message : error);
  }
})();
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #111827; background: #fff; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.15rem; margin-top: 2rem; } h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
pre { font: 12px/1.35 ui-monospace, monospace; background: #f3f4f6; padding: 1rem; overflow-x: auto; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 1rem; }
figure { margin: 0; border: 1px solid #e5e7eb; padding: .5rem; }
figcaption { font-weight: 600; margin-bottom: .25rem; }
.chart { position: relative; height: 280px; }
.status-not-counted { color: #b91c1c; } .status-timed-out { color: #b45309; }
.met { color: #047857; } .missed { color: #b91c1c; font-weight: 600; } .unmeasured { color: #6b7280; }
table { border-collapse: collapse; } td, th { padding: .15rem .6rem; text-align: left; vertical-align: top; }
`;

/** One chart in its box, captioned with what it is about (and the scenario's status, when not ok). */
function figure(spec: ChartSpec, caption: string, status?: ScenarioResult["status"]): string {
  const mark =
    status === undefined || status === "ok"
      ? ""
      : ` <span class="status-${status}">(${status === "timed-out" ? "timed out" : "NOT COUNTED"})</span>`;
  return (
    `<figure><figcaption>${escapeHtml(caption)}${mark}</figcaption>` +
    `<div class="chart"><canvas data-chart-id="${escapeHtml(spec.id)}"></canvas></div></figure>`
  );
}

/** A target as the report prints it: its verdict, and its measured figure already formatted. */
export interface TargetLine {
  outcome: TargetOutcome;
  measured: string;
}

function targetsTable(lines: readonly TargetLine[]): string {
  const rows = lines.map(({ outcome, measured }) => {
    const kind = outcome.met === undefined ? "unmeasured" : outcome.met ? "met" : "missed";
    const verdict = outcome.met === undefined ? "not measured" : outcome.met ? "met" : "missed";
    const cells = [verdict, outcome.description, measured, outcome.note ?? ""].map(
      (cell) => `<td>${escapeHtml(cell)}</td>`,
    );
    return `<tr class="${kind}">${cells.join("")}</tr>`;
  });
  return `<table><tr><th></th><th>target</th><th>measured</th><th>note</th></tr>${rows.join("")}</table>`;
}

/** The page: title, targets, the text report as printed, then the charts by scenario group. */
export function renderHtml(report: BenchReport, text: string, targets: readonly TargetLine[]): string {
  const library = chartLibrary();
  const groups = chartSpecs(report);
  const charts = groups.flatMap((entry) => [entry.rate, ...entry.scenarios.flatMap((scenario) => scenario.charts)]);
  const sections = groups.map(({ group, rate, scenarios }) => {
    const figures = [
      figure(rate, `${group.scenario}: ${group.unit} of the system and its baselines`),
      ...scenarios.flatMap(({ result, charts: own }) =>
        own.map((spec) => figure(spec, `${result.id}: ${result.title}`, result.status)),
      ),
    ];
    return `<section><h2>${escapeHtml(group.key)}</h2><div class="charts">${figures.join("")}</div></section>`;
  });
  const title = `bench ${report.mode} run, ${report.commit.slice(0, 12)}, ${report.startedAt}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body data-charts-drawn="0" data-charts-expected="${charts.length}">
<h1>${escapeHtml(title)}</h1>
<h2>Targets</h2>
${targetsTable(targets)}
<h2>Report</h2>
<pre>${escapeHtml(text)}</pre>
${sections.join("\n")}
<script type="application/json" id="bench-data">${embedJson({ report, targets: targets.map((line) => line.outcome), charts })}</script>
<!-- Chart.js ${escapeHtml(library.version)} (MIT), inlined from node_modules so the page needs no network. -->
<script>${library.source}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
