// What `npm run bench` prints and keeps: the run as one aligned text table (machine and commit
// first, then every scenario's system and baselines, then the targets, memory and CPU), and the same
// run written under .local/bench/ (git-ignored) as JSON, for `--compare`, and as one self-contained
// HTML page with its charts, which opens offline.
import fs from "node:fs";
import path from "node:path";
import { renderHtml } from "./report-html.ts";
import type { BenchReport, ScenarioResult, Subject, Window } from "./results.ts";
import { evaluateTargets, type TargetOutcome, withTargets } from "./targets.ts";

export const BENCH_DIR = path.resolve(import.meta.dirname, "..", "..", ".local", "bench");

// ---- numbers ----

const grouped = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** Enough digits to compare, no more: 0.123, 1.23, 12.3, 1,234. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const size = Math.abs(value);
  if (size >= 100) return grouped.format(value);
  if (size >= 10) return value.toFixed(1);
  if (size >= 1 || size === 0) return value.toFixed(2);
  return value.toFixed(3);
}

export function formatRate(value: number, unit: string): string {
  return `${formatNumber(value)} ${unit}`;
}

/** 1000 -> 1k, 100000 -> 100k, 1500 -> 1.5k; undefined -> —. */
export function formatSize(size: number | undefined): string {
  if (size === undefined) return "—";
  if (size >= 1e6 && size % 1e5 === 0) return `${size / 1e6}M`;
  if (size >= 1e3 && size % 100 === 0) return `${size / 1e3}k`;
  return grouped.format(size);
}

export function formatRatio(value: number | undefined): string {
  return value === undefined ? "—" : `${value.toFixed(2)}×`;
}

export function formatMeasured(outcome: Pick<TargetOutcome, "measured" | "unit">): string {
  const { measured, unit } = outcome;
  if (measured === undefined) return "—";
  switch (unit) {
    case "ratio":
      return formatRatio(measured);
    case "ms over":
      return `${measured >= 0 ? "+" : ""}${formatNumber(measured)} ms`;
    case "events/s":
      return formatRate(measured, "events/s");
    case "MiB":
      return `${formatNumber(measured)} MiB`;
    case "%":
      return `${measured >= 0 ? "+" : ""}${measured.toFixed(1)}%`;
    case "503s":
      return `${grouped.format(measured)} × 503`;
  }
}

export function targetVerdict(met: boolean | undefined): string {
  if (met === undefined) return "not measured";
  return met ? "met" : "MISSED";
}

export function statusLabel(status: ScenarioResult["status"]): string {
  if (status === "timed-out") return "timed out";
  if (status === "not-counted") return "NOT COUNTED";
  return "ok";
}

// ---- the table ----

type Align = "left" | "right";

/** Pads every column to its widest cell; rows of one cell (group titles) are left as they are. */
export function alignTable(header: readonly string[], rows: readonly (readonly string[])[], align: Align[]): string[] {
  const width = (text: string) => [...text].length;
  const widths = header.map((title, column) =>
    Math.max(width(title), ...rows.filter((row) => row.length > 1).map((row) => width(row[column] ?? ""))),
  );
  const line = (row: readonly string[]) =>
    row.length === 1
      ? (row[0] ?? "")
      : row
          .map((cell, column) => {
            const pad = " ".repeat(Math.max(0, (widths[column] ?? 0) - width(cell)));
            return align[column] === "right" ? pad + cell : cell + pad;
          })
          .join("  ")
          .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Every round of a subject, or its median when the runner kept none. */
function roundsOf(subject: Subject): Window[] {
  return subject.rounds.length > 0 ? subject.rounds : [subject.median];
}

function errorsOf(subject: Subject): number {
  return roundsOf(subject).reduce((sum, round) => sum + round.errors, 0);
}

/** Unexpected statuses summed over the rounds, e.g. "503×12 500×1". */
function unexpectedOf(subject: Subject): string {
  const counts = new Map<string, number>();
  for (const round of roundsOf(subject))
    for (const [status, count] of Object.entries(round.unexpected))
      counts.set(status, (counts.get(status) ?? 0) + count);
  const parts = [...counts].filter(([, count]) => count > 0).map(([status, count]) => `${status}×${count}`);
  return parts.length > 0 ? parts.join(" ") : "0";
}

function subjectRow(result: ScenarioResult, subject: Subject, ratio: string, status: string): string[] {
  const { latency } = subject.median;
  return [
    `  ${subject.name}`,
    formatSize(result.size),
    String(result.concurrency),
    formatRate(subject.median.rate, result.unit),
    formatNumber(latency.p50),
    formatNumber(latency.p90),
    formatNumber(latency.p99),
    formatNumber(latency.max),
    grouped.format(errorsOf(subject)),
    unexpectedOf(subject),
    ratio,
    status,
  ];
}

function scenarioTable(report: BenchReport): string[] {
  const header = ["scenario / subject", "size", "conn", "rate", "p50 ms", "p90 ms", "p99 ms", "max ms"];
  header.push("errors", "non-2xx", "ratio", "status");
  const align: Align[] = ["left", "right", "right", "right", "right", "right", "right", "right", "right"];
  align.push("left", "right", "left");
  const rows: string[][] = [];
  for (const result of report.scenarios) {
    rows.push([`${result.id}: ${result.title}`]);
    rows.push(subjectRow(result, result.system, "", statusLabel(result.status)));
    for (const baseline of result.baselines) {
      const timedOut = roundsOf(baseline).some((round) => round.timedOut);
      const ratio = result.ratios[baseline.name] ?? ratioFromMedians(result.system, baseline);
      rows.push(subjectRow(result, baseline, formatRatio(ratio), timedOut ? "timed out" : ""));
    }
  }
  return alignTable(header, rows, align);
}

function ratioFromMedians(system: Subject, baseline: Subject): number | undefined {
  return baseline.median.rate > 0 ? system.median.rate / baseline.median.rate : undefined;
}

// ---- the other sections ----

function header(report: BenchReport): string[] {
  const { machine } = report;
  const started = Date.parse(report.startedAt);
  const finished = Date.parse(report.finishedAt);
  const took = Number.isFinite(started) && Number.isFinite(finished) ? `, ${formatDuration(finished - started)}` : "";
  const servers = Object.entries(machine.servers)
    .map(([name, version]) => `${name} ${version}`)
    .join(", ");
  const configuration = Object.entries(report.configuration)
    .map(([key, value]) => `${key} ${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(", ");
  return [
    `npm run bench: ${report.mode} run of commit ${report.commit}`,
    `run: ${report.startedAt} to ${report.finishedAt}${took}`,
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${formatNumber(machine.memoryGiB)} GiB memory, ` +
      `load average ${machine.loadAverage.map((load) => load.toFixed(2)).join(" ")} at the start, Node ${machine.node}`,
    `servers: ${servers || "none recorded"}`,
    `configuration: ${configuration || "none recorded"}`,
  ];
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}

function targetsSection(outcomes: readonly TargetOutcome[]): string[] {
  const count = (met: boolean | undefined) => outcomes.filter((outcome) => outcome.met === met).length;
  const title = `Targets: ${count(true)} met, ${count(false)} missed, ${count(undefined)} not measured`;
  const rows = outcomes.map((outcome) => [
    `  ${targetVerdict(outcome.met)}`,
    outcome.description,
    formatMeasured(outcome),
    outcome.note ?? "",
  ]);
  return [title, ...alignTable(["", "target", "measured", "note"], rows, ["left", "left", "right", "left"])];
}

/** The samples a system takes before its scenarios (run.ts). */
const FIRST_SAMPLES = ["at rest", "after seeding"];

/** A service per row, a point of the run per column: "RSS / heap used" in MiB. */
function memorySection(report: BenchReport): string[] {
  if (report.memory.length === 0) return ["Memory: no samples"];
  // In the order of a run: the systems' first samples (at rest for the first set, after seeding for
  // the others) before those after the run, whatever set came first.
  const seen = [...new Set(report.memory.map((sample) => sample.when))];
  const points = [
    ...FIRST_SAMPLES.filter((when) => seen.includes(when)),
    ...seen.filter((when) => !FIRST_SAMPLES.includes(when)),
  ];
  const services = [...new Set(report.memory.map((sample) => sample.service))];
  const rows = services.map((service) => [
    `  ${service}`,
    ...points.map((when) => {
      const sample = report.memory.find((entry) => entry.service === service && entry.when === when);
      if (!sample) return "—";
      const heap = sample.heapUsedMiB === undefined ? "—" : formatNumber(sample.heapUsedMiB);
      return `${formatNumber(sample.rssMiB)} / ${heap}`;
    }),
  ]);
  const align: Align[] = ["left", ...points.map((): Align => "right")];
  return ["Memory (MiB, RSS / heap used)", ...alignTable(["", ...points], rows, align)];
}

/** A scenario per row, a process per column. */
function cpuSection(report: BenchReport): string[] {
  if (report.cpu.length === 0) return ["CPU per request: not measured"];
  const processes = [...new Set(report.cpu.flatMap((entry) => Object.keys(entry.byProcess)))];
  const rows = report.cpu.map((entry) => [
    `  ${entry.scenario}`,
    ...processes.map((name) => {
      const ms = entry.byProcess[name];
      return ms === undefined ? "—" : formatNumber(ms);
    }),
  ]);
  const align: Align[] = ["left", ...processes.map((): Align => "right")];
  return ["CPU ms per request (per event for catch-up), by process", ...alignTable(["", ...processes], rows, align)];
}

/** The whole run as text: header, the scenario table, targets, memory, CPU. */
export function formatReport(
  report: BenchReport,
  outcomes: readonly TargetOutcome[] = evaluateTargets(report),
): string {
  return [
    ...header(report),
    "",
    "Scenarios: rate and latency are medians over the rounds; errors and non-2xx answers are summed over them;",
    "ratio is the system's rate over that baseline's.",
    ...scenarioTable(report),
    "",
    ...targetsSection(outcomes),
    "",
    ...memorySection(report),
    "",
    ...cpuSection(report),
    "",
  ].join("\n");
}

// ---- files ----

export interface WrittenReport {
  json: string;
  html: string;
  latestJson: string;
  latestHtml: string;
}

/** `bench-2025-06-01T10-00-00Z`: the run's start, safe in a file name, sorting by time. */
function fileStem(report: BenchReport): string {
  const started = Date.parse(report.startedAt);
  const iso = new Date(Number.isFinite(started) ? started : Date.now()).toISOString();
  return `bench-${iso.replace(/\.\d+Z$/, "Z").replaceAll(":", "-")}`;
}

/** Writes the run's JSON (targets judged into it) and HTML, and latest.* copies, to `dir`. */
export function writeReport(report: BenchReport, dir: string = BENCH_DIR): WrittenReport {
  fs.mkdirSync(dir, { recursive: true });
  const judged = withTargets(report);
  const outcomes = evaluateTargets(judged);
  const stem = fileStem(report);
  const written: WrittenReport = {
    json: path.join(dir, `${stem}.json`),
    html: path.join(dir, `${stem}.html`),
    latestJson: path.join(dir, "latest.json"),
    latestHtml: path.join(dir, "latest.html"),
  };
  fs.writeFileSync(written.json, `${JSON.stringify(judged, null, 2)}\n`);
  const lines = outcomes.map((outcome) => ({ outcome, measured: formatMeasured(outcome) }));
  fs.writeFileSync(written.html, renderHtml(judged, formatReport(judged, outcomes), lines));
  fs.copyFileSync(written.json, written.latestJson);
  fs.copyFileSync(written.html, written.latestHtml);
  return written;
}
