// `npm run bench -- --compare <earlier.json>`: what changed since an earlier run, figure by figure
// (rate, p50, p99 and the ratios to the baselines) for every scenario and subject both runs have,
// each change marked better or worse, and the targets whose verdict changed. A report of another
// format is refused rather than half read.
import fs from "node:fs";
import { alignTable, formatNumber, formatRatio, statusLabel, targetVerdict } from "./report.ts";
import type { BenchReport, ScenarioResult, Subject } from "./results.ts";
import { evaluateTargets } from "./targets.ts";

const FORMAT: BenchReport["format"] = 1;

/** Parses a report written by writeReport, refusing one of another format. */
export function parseReport(text: string, source = "the report"): BenchReport {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null || !("format" in value))
    throw new Error(`${source} is not a bench report (no format)`);
  if (value.format !== FORMAT)
    throw new Error(`${source} has format ${String(value.format)}; this bench reads format ${FORMAT}`);
  if (!("scenarios" in value) || !Array.isArray(value.scenarios))
    throw new Error(`${source} is not a bench report (no scenarios)`);
  return value as BenchReport;
}

export function readReport(file: string): BenchReport {
  return parseReport(fs.readFileSync(file, "utf8"), file);
}

/** "+12.3% better", "-4.0% worse", "same"; undefined where there is nothing to divide by. */
export function formatChange(earlier: number, now: number, higherIsBetter: boolean): string {
  if (earlier === 0) return now === 0 ? "same" : "n/a (was 0)";
  const percent = ((now - earlier) / Math.abs(earlier)) * 100;
  const shown = `${percent >= 0 ? "+" : ""}${percent.toFixed(1)}%`;
  if (shown === "+0.0%" || shown === "-0.0%") return "same";
  const better = higherIsBetter ? percent > 0 : percent < 0;
  return `${shown} ${better ? "better" : "worse"}`;
}

interface Figure {
  name: string;
  higherIsBetter: boolean;
  value(subject: Subject): number;
  show(value: number, result: ScenarioResult): string;
}

const FIGURES: readonly Figure[] = [
  {
    name: "rate",
    higherIsBetter: true,
    value: (subject) => subject.median.rate,
    show: (value, result) => `${formatNumber(value)} ${result.unit}`,
  },
  {
    name: "p50",
    higherIsBetter: false,
    value: (subject) => subject.median.latency.p50,
    show: (value) => `${formatNumber(value)} ms`,
  },
  {
    name: "p99",
    higherIsBetter: false,
    value: (subject) => subject.median.latency.p99,
    show: (value) => `${formatNumber(value)} ms`,
  },
];

function scenarioRows(now: ScenarioResult, earlier: ScenarioResult): string[][] {
  const rows: string[][] = [[`${now.id}: ${now.title}`]];
  if (now.status !== earlier.status)
    rows.push(["  (scenario)", "status", statusLabel(earlier.status), statusLabel(now.status), ""]);
  const subjects = (result: ScenarioResult) => [result.system, ...result.baselines];
  const before = new Map(subjects(earlier).map((subject) => [subject.name, subject]));
  const nowNames = new Set(subjects(now).map((subject) => subject.name));
  for (const subject of subjects(now)) {
    const old = before.get(subject.name);
    if (!old) {
      rows.push([`  ${subject.name}`, "", "—", "added", ""]);
      continue;
    }
    FIGURES.forEach((figure, index) => {
      const [a, b] = [figure.value(old), figure.value(subject)];
      const label = index === 0 ? `  ${subject.name}` : "";
      rows.push([
        label,
        figure.name,
        figure.show(a, earlier),
        figure.show(b, now),
        formatChange(a, b, figure.higherIsBetter),
      ]);
    });
    const [a, b] = [earlier.ratios[subject.name], now.ratios[subject.name]];
    if (a !== undefined && b !== undefined)
      rows.push(["", "ratio", formatRatio(a), formatRatio(b), formatChange(a, b, true)]);
  }
  for (const name of before.keys()) if (!nowNames.has(name)) rows.push([`  ${name}`, "", "", "removed", ""]);
  return rows;
}

function runLine(report: BenchReport): string {
  return `commit ${report.commit} (${report.mode} run, ${report.startedAt})`;
}

/** Notes on what makes the two runs less comparable than they look. */
function caveats(current: BenchReport, earlier: BenchReport): string[] {
  const notes: string[] = [];
  if (current.mode !== earlier.mode)
    notes.push(`note: the earlier run was a ${earlier.mode} run, this one ${current.mode}`);
  const machine = (report: BenchReport) => [
    ["cores", String(report.machine.cores)],
    ["memory GiB", formatNumber(report.machine.memoryGiB)],
    ["Node", report.machine.node],
    ["CPU", report.machine.cpuModel],
  ];
  const differ = machine(earlier)
    .map(([what, was], index) => [what, was, machine(current)[index]?.[1]])
    .filter(([, was, now]) => was !== now)
    .map(([what, was, now]) => `${what} ${was} → ${now}`);
  if (differ.length > 0) notes.push(`note: the machines differ: ${differ.join(", ")}`);
  return notes;
}

/** The change per figure from `earlier` to `current`, as text. */
export function compareReports(current: BenchReport, earlier: BenchReport): string {
  const format: unknown = earlier.format;
  if (format !== current.format)
    throw new Error(`cannot compare a report of format ${String(format)} with one of format ${current.format}`);
  const earlierById = new Map(earlier.scenarios.map((result) => [result.id, result]));
  const currentIds = new Set(current.scenarios.map((result) => result.id));
  const rows = current.scenarios.flatMap((result) => {
    const old = earlierById.get(result.id);
    return old ? scenarioRows(result, old) : [];
  });
  const added = current.scenarios.filter((result) => !earlierById.has(result.id)).map((result) => result.id);
  const removed = earlier.scenarios.filter((result) => !currentIds.has(result.id)).map((result) => result.id);

  const before = new Map(evaluateTargets(earlier).map((outcome) => [outcome.id, outcome]));
  const changedTargets = evaluateTargets(current)
    .filter((outcome) => before.has(outcome.id) && before.get(outcome.id)?.met !== outcome.met)
    .map(
      (outcome) =>
        `  ${outcome.description}: ${targetVerdict(before.get(outcome.id)?.met)} → ${targetVerdict(outcome.met)}`,
    );

  return [
    `Compared: ${runLine(earlier)}`,
    `      to: ${runLine(current)}`,
    ...caveats(current, earlier),
    "",
    "Rate and ratios: higher is better; latencies: lower is better. Medians over the rounds.",
    ...alignTable(["scenario / subject", "figure", "earlier", "now", "change"], rows, [
      "left",
      "left",
      "right",
      "right",
      "left",
    ]),
    "",
    `Added (not in the earlier run): ${added.length > 0 ? added.join(", ") : "none"}`,
    `Removed (only in the earlier run): ${removed.length > 0 ? removed.join(", ") : "none"}`,
    "",
    changedTargets.length > 0 ? "Targets whose verdict changed:" : "Targets whose verdict changed: none",
    ...changedTargets,
    "",
  ].join("\n");
}
