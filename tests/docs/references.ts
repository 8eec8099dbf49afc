// What the Markdown documents (README.md, docs/) mention, checked against the repository: a path that
// moved, a script that was renamed, a variable nobody reads any more or a metric that was never
// created is a document that lies, and nothing else would notice. references.unit.spec.ts runs it.
//
// Only what a reader would copy is checked: inline code, fenced code and link targets. Prose is free.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** What a document may refer to, gathered from the repository once. */
export interface Repository {
  /** Files git tracks or would track (new ones too, ignored ones not), relative, with `/`. */
  files: ReadonlySet<string>;
  /** Every folder holding one of `files`. */
  folders: ReadonlySet<string>;
  /** package.json's scripts. */
  scripts: ReadonlySet<string>;
  /** Every UPPER_CASE word of the code and deployment files: where a variable can be read. */
  codeWords: ReadonlySet<string>;
  /** Metric names the code creates (dotted, as the OpenTelemetry API names them). */
  metrics: ReadonlySet<string>;
  /** Attribute keys the code sets on spans and metrics (dotted). */
  attributes: ReadonlySet<string>;
  /** Names the Grafana dashboard's queries use (Prometheus form). */
  dashboard: ReadonlySet<string>;
  /** Where the code cites a section of docs/architecture.md (`docs/architecture.md, "Events"`). */
  citations: readonly Citation[];
}

export interface Citation {
  file: string;
  line: number;
  /** The document cited: docs/architecture.md, or the design document that stayed outside the repository. */
  document: "docs/architecture.md" | "design.md";
  section: string;
}

export type Kind = "path" | "anchor" | "script" | "variable" | "metric";

export interface Finding {
  document: string;
  line: number;
  kind: Kind;
  missing: string;
}

/**
 * Mentions that name something outside the repository by design, each with its reason. Anything
 * else that looks like a repository path must exist.
 */
export const OUTSIDE_THE_REPOSITORY: readonly { prefix: string; reason: string }[] = [
  { prefix: ".local/", reason: "the local stack's data, logs and pid files: git-ignored, made by `npm run infra`" },
  { prefix: "dist/", reason: "the bundles `npm run bundle` writes: git-ignored" },
  { prefix: "node_modules/", reason: "what `npm ci` installs" },
  { prefix: "~/", reason: "the user-level cache (~/.cache/cqrs-ts/), outside the checkout" },
];

/**
 * Variables no project code reads, read by a library or the system instead; each with who reads it.
 * Variables the code reads itself need no entry: they are found in the code.
 */
export const STANDARD_VARIABLES: ReadonlyMap<string, string> = new Map([
  ["OTEL_TRACES_SAMPLER", "read by the OpenTelemetry trace SDK (OpenTelemetry SDK environment variables spec)"],
  ["OTEL_TRACES_SAMPLER_ARG", "read by the OpenTelemetry trace SDK, with OTEL_TRACES_SAMPLER"],
  ["OTEL_RESOURCE_ATTRIBUTES", "read by the OpenTelemetry resource detector (envDetector)"],
  ["XDG_CACHE_HOME", "the XDG base directory spec's cache folder"],
  ["PATH", "the shell's search path"],
  ["KC_HOSTNAME", "read by Keycloak (compose.yaml): the address it names itself by, its tokens' issuer"],
]);

/** Single words that are variables when written alone in code; other single upper-case words are not. */
const SINGLE_WORD_VARIABLES = new Set(["DEBUG", "CI", "PATH"]);

/** File endings that make a bare word a file name (`go.mod`, `compose.yaml`), unlike `cache.hit`. */
const FILE_ENDINGS = new Set([
  ...["ts", "mjs", "cjs", "js", "json", "md", "yaml", "yml", "toml", "sql", "proto"],
  ...["go", "mod", "sum", "xml", "properties", "sh", "html", "css", "png"],
]);

/** The prefixes of the telemetry names the documents are held to. */
const TELEMETRY_PREFIXES = ["cqrs", "http.server", "rpc", "messaging", "nodejs", "process", "v8js"];
const prefixPattern = (separator: string) =>
  TELEMETRY_PREFIXES.map((prefix) => prefix.replaceAll(".", separator === "." ? "\\." : "_")).join("|");
// Not inside a path or a longer word: `otel/grafana/dashboards/cqrs.json` names no metric.
const DOTTED_NAME = new RegExp(`(?<![\\w./-])(?:${prefixPattern(".")})\\.[a-z0-9_]+(?:\\.[a-z0-9_]+)*(?![\\w.*])`, "g");
const PROMETHEUS_NAME = new RegExp(`(?<![\\w./-])(?:${prefixPattern("_")})_[a-z0-9_]+(?![\\w.*])`, "g");
/** What Prometheus appends to a metric's name: a counter's _total, a histogram's series. */
const PROMETHEUS_SUFFIXES = ["_total", "_bucket", "_count", "_sum"];
/** The unit suffixes /metrics adds before those (shared/platform/telemetry/prometheus-names.ts). */
const UNIT_SUFFIXES = ["_seconds", "_milliseconds", "_bytes", "_ratio"];

// --- The repository ----------------------------------------------------------------------------------

function listFiles(root: string): string[] {
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return listed
    .split("\0")
    .filter((file) => file !== "" && fs.existsSync(path.join(root, file)))
    .sort();
}

/** Where a variable may be read: the code, the local stack's scripts and the deployment files. */
function isCode(file: string): boolean {
  if (file.startsWith("tests/docs/")) return false; // this checker names made-up variables on purpose
  const deployment = ["compose.yaml", "Dockerfile", ".ci/run", "package.json", "drizzle.config.ts", "buf.gen.yaml"];
  if (deployment.includes(file)) return true;
  const folders = ["shared/", "services/", "scripts/", "infra/", "functions/", "tests/", "otel/"];
  return folders.some((folder) => file.startsWith(folder)) && /\.(?:ts|mjs|js|json|ya?ml|properties)$/.test(file);
}

/** Where metrics are created: the application's code, its tests left out. */
function isApplicationCode(file: string): boolean {
  const folders = ["shared/", "services/", "functions/", "scripts/"];
  return folders.some((folder) => file.startsWith(folder)) && file.endsWith(".ts") && !file.endsWith(".spec.ts");
}

// metrics.ts wraps createHistogram in `seconds(name, description)`, hence that name here; a test in
// references.unit.spec.ts fails if a rename leaves these patterns finding nothing.
const METRIC_CREATION =
  /\b(?:create(?:Histogram|Counter|UpDownCounter|Gauge|ObservableGauge|ObservableCounter|ObservableUpDownCounter)|seconds)\(\s*["'`]([a-z][\w.]*)["'`]/g;
/** A dotted string used as an attribute key: `"cqrs.projection.outcome": x` or `setAttribute("cache.hit", x)`. */
const ATTRIBUTE_KEY = /["']([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)["']\s*[:,]/g;

/**
 * The sections of docs/architecture.md a source file cites (a citation wrapped over comment lines
 * included), and its citations of design.md, the original design, which no reader of the
 * repository can open.
 */
export function citationsIn(file: string, text: string): Citation[] {
  const lineOf = (offset: number) => text.slice(0, offset).split("\n").length;
  const architecture = [...text.matchAll(/docs\/architecture\.md,\s*(?:\/\/\s*)?"([^"]+)"/g)].map(
    (match): Citation => ({
      file,
      line: lineOf(match.index ?? 0),
      document: "docs/architecture.md",
      section: (match[1] ?? "").replace(/\s*\n\s*(?:\/\/|\*|#)?\s*/g, " "),
    }),
  );
  const design = [...text.matchAll(/(?<![\w/.-])design\.md(?:\s*(§\s*\d+))?/g)].map(
    (match): Citation => ({ file, line: lineOf(match.index ?? 0), document: "design.md", section: match[1] ?? "" }),
  );
  return [...architecture, ...design].sort((a, b) => a.line - b.line);
}

/** A heading as a citation names it: without its number (`## 3. Events` is "Events"). */
export const sectionOf = (heading: string) => heading.replace(/^\d+\.\s+/, "");

export function loadRepository(root: string): Repository {
  const files = listFiles(root);
  const folders = new Set<string>();
  for (const file of files) {
    for (let at = path.posix.dirname(file); at !== "."; at = path.posix.dirname(at)) folders.add(at);
  }
  const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");

  const codeWords = new Set<string>();
  const metrics = new Set<string>();
  const attributes = new Set<string>();
  const citations: Citation[] = [];
  for (const file of files) {
    if (!isCode(file)) continue;
    const text = read(file);
    citations.push(...citationsIn(file, text));
    for (const word of text.matchAll(/\b[A-Z][A-Z0-9_]*\b/g)) codeWords.add(word[0]);
    if (!isApplicationCode(file)) continue;
    for (const match of text.matchAll(METRIC_CREATION)) if (match[1]) metrics.add(match[1]);
    for (const match of text.matchAll(ATTRIBUTE_KEY)) if (match[1]) attributes.add(match[1]);
  }

  const dashboard = new Set<string>();
  const dashboardFile = "otel/grafana/dashboards/cqrs.json";
  if (files.includes(dashboardFile)) {
    for (const word of read(dashboardFile).matchAll(/[a-z_][a-z0-9_]*/g)) dashboard.add(word[0]);
  }

  const manifest: unknown = JSON.parse(read("package.json"));
  const scripts = new Set<string>();
  if (typeof manifest === "object" && manifest !== null && "scripts" in manifest) {
    const declared = manifest.scripts;
    if (typeof declared === "object" && declared !== null) for (const name of Object.keys(declared)) scripts.add(name);
  }

  return { files: new Set(files), folders, scripts, codeWords, metrics, attributes, dashboard, citations };
}

/** The Markdown files the checker reads: README.md and everything under docs/. */
export function documentsOf(repository: Repository): string[] {
  return [...repository.files].filter((file) => file === "README.md" || /^docs\/.*\.md$/.test(file)).sort();
}

// --- Reading a document ----------------------------------------------------------------------------

/** A piece of a document that is checked: inline or fenced code, or a link target. */
interface Snippet {
  line: number;
  text: string;
  kind: "code" | "link";
}

/** The code and link targets of a Markdown document, each with the line it starts on. */
export function snippetsOf(markdown: string): { snippets: Snippet[]; headings: string[] } {
  const snippets: Snippet[] = [];
  const headings: string[] = [];
  /** Lines outside fenced blocks, as paragraphs: an inline code span may run over a line break, not a paragraph. */
  const paragraphs: { line: number; text: string }[] = [];
  let paragraph: { line: number; lines: string[] } | undefined;
  const endParagraph = () => {
    if (paragraph) paragraphs.push({ line: paragraph.line, text: paragraph.lines.join("\n") });
    paragraph = undefined;
  };
  let fence: { marker: string; skip: boolean } | undefined;
  for (const [index, line] of markdown.split("\n").entries()) {
    const opening = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
    if (fence) {
      if (opening?.[1]?.startsWith(fence.marker)) fence = undefined;
      else if (!fence.skip) snippets.push({ line: index + 1, text: line, kind: "code" });
      continue;
    }
    if (opening?.[1]) {
      endParagraph();
      // A diagram's labels are not commands or paths.
      fence = { marker: opening[1], skip: opening[2] === "mermaid" };
      continue;
    }
    if (line.trim() === "") {
      endParagraph();
      continue;
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading?.[1]) headings.push(heading[1]);
    paragraph ??= { line: index + 1, lines: [] };
    paragraph.lines.push(line);
  }
  endParagraph();

  for (const { line, text } of paragraphs) {
    const lineAt = (offset: number) => line + (text.slice(0, offset).match(/\n/g)?.length ?? 0);
    // Code spans first; links are looked for in what is left, so `[a](b)` inside code is no link.
    let rest = text;
    for (const span of text.matchAll(/(?<!`)(`+)(?!`)([\s\S]+?)(?<!`)\1(?!`)/g)) {
      const offset = span.index ?? 0;
      snippets.push({ line: lineAt(offset), text: (span[2] ?? "").replaceAll("\n", " ").trim(), kind: "code" });
      rest = rest.slice(0, offset) + span[0].replace(/[^\n]/g, " ") + rest.slice(offset + span[0].length);
    }
    for (const link of rest.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      snippets.push({ line: lineAt(link.index ?? 0), text: link[1] ?? "", kind: "link" });
    }
  }
  snippets.sort((a, b) => a.line - b.line);
  return { snippets, headings };
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .trim()
    .replace(/\s/g, "-");
}

// --- What a snippet mentions -----------------------------------------------------------------------

const isPlaceholder = (token: string) => /[<>{}*[\]…]|\.\.\./.test(token);

/** `services/gateway|writer|reader/` -> the three folders it abbreviates. */
function expandAlternatives(token: string): string[] {
  let expanded = [""];
  for (const [index, segment] of token.split("/").entries()) {
    const glue = index === 0 ? "" : "/";
    expanded = expanded.flatMap((prefix) => segment.split("|").map((choice) => `${prefix}${glue}${choice}`));
  }
  return expanded;
}

function isOutside(candidate: string): boolean {
  return OUTSIDE_THE_REPOSITORY.some(
    ({ prefix }) => candidate.startsWith(prefix) || candidate === prefix.replace(/\/$/, ""),
  );
}

/** The repository paths a code token names, if it names any. */
function pathsIn(token: string, repository: Repository): string[] {
  const word = token.replace(/^[("'[]+/, "").replace(/[)"'\]:;,.]+$/, "");
  if (word === "" || isOutside(word)) return [];
  // URLs, absolute paths (routes, machine folders), variables, options, suffixes such as `-store.ts`,
  // packages, and glob-ish mentions with placeholders (`functions/<agg>/...`).
  if (/^(?:[a-z][a-z0-9+.-]*:|\/|\$|-|#|@)/i.test(word) || isPlaceholder(word)) return [];
  return expandAlternatives(word).filter((candidate) => {
    if (!/^[\w.-]+(?:\/[\w.-]+)*\/?$/.test(candidate) || /^\.+$/.test(candidate)) return false;
    const ending = /\.([a-z]+)$/.exec(candidate)?.[1];
    const topLevel = candidate.split("/")[0] ?? "";
    const known = repository.folders.has(topLevel) || repository.files.has(topLevel);
    return (
      (ending !== undefined && FILE_ENDINGS.has(ending)) ||
      (candidate.includes("/") && (candidate.endsWith("/") || known))
    );
  });
}

function pathExists(candidate: string, repository: Repository): boolean {
  const normal = path.posix.normalize(candidate).replace(/\/$/, "");
  if (repository.files.has(normal) || repository.folders.has(normal)) return true;
  // A bare file name (`go.mod`, `reader-registry.ts`) stands for a file of that name anywhere.
  if (!normal.includes("/")) return [...repository.files].some((file) => path.posix.basename(file) === normal);
  return false;
}

function scriptsIn(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/\bnpm\s+(?:run(?:-script)?\s+([^\s`'")]+)|(start|test|stop|restart)\b)/g)) {
    const name = match[1] ?? match[2];
    if (name !== undefined && !isPlaceholder(name) && !name.startsWith("-")) names.push(name);
  }
  return names;
}

function variablesIn(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/(?<![\w*.\-/])\$?\{?([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)(?![\w-])/g)) {
    const name = match[1] ?? "";
    if (name.includes("_") || SINGLE_WORD_VARIABLES.has(name)) names.push(name);
  }
  return names;
}

function telemetryIn(text: string): string[] {
  return [...text.matchAll(DOTTED_NAME), ...text.matchAll(PROMETHEUS_NAME)]
    .map((match) => match[0])
    .filter((name) => !FILE_ENDINGS.has(name.split(".").at(-1) ?? "")); // `cqrs.json` is a file
}

/** Whether a telemetry name exists: dotted as the code creates it, or as Prometheus exposes it. */
function telemetryLookup(repository: Repository): (name: string) => boolean {
  // Prometheus turns dots into underscores (metric names and labels alike) and adds the suffixes.
  const exposed = new Set(repository.dashboard);
  for (const name of [...repository.metrics, ...repository.attributes]) exposed.add(name.replaceAll(".", "_"));
  return (name) => {
    if (name.includes(".")) return repository.metrics.has(name) || repository.attributes.has(name);
    const strip = (from: string[], suffixes: string[]) =>
      from.flatMap((n) => [n, ...suffixes.filter((s) => n.endsWith(s)).map((s) => n.slice(0, -s.length))]);
    return strip(strip([name], PROMETHEUS_SUFFIXES), UNIT_SUFFIXES).some((candidate) => exposed.has(candidate));
  };
}

/** Everything `markdown` (the document `document`, a repository path) mentions that does not exist. */
export function checkDocument(document: string, markdown: string, repository: Repository): Finding[] {
  const { snippets, headings } = snippetsOf(markdown);
  const anchors = new Set(headings.map(anchorOf));
  const telemetryExists = telemetryLookup(repository);
  const findings: Finding[] = [];
  const seen = new Set<string>();
  const report = (line: number, kind: Kind, missing: string) => {
    const key = `${line}\0${kind}\0${missing}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push({ document, line, kind, missing });
  };

  for (const { line, text, kind } of snippets) {
    if (kind === "link") {
      if (/^[a-z][a-z0-9+.-]*:/i.test(text)) continue; // a URL
      const [target = "", anchor] = text.split("#");
      if (target === "") {
        if (anchor !== undefined && !anchors.has(anchor)) report(line, "anchor", `#${anchor}`);
        continue;
      }
      const resolved = path.posix.join(path.posix.dirname(document), target);
      if (!isOutside(resolved) && !pathExists(resolved, repository)) report(line, "path", resolved);
      continue;
    }
    for (const token of text.split(/[\s,;=()]+/)) {
      for (const candidate of pathsIn(token, repository)) {
        if (!pathExists(candidate, repository)) report(line, "path", candidate);
      }
    }
    for (const script of scriptsIn(text)) if (!repository.scripts.has(script)) report(line, "script", script);
    for (const variable of variablesIn(text)) {
      if (!repository.codeWords.has(variable) && !STANDARD_VARIABLES.has(variable)) report(line, "variable", variable);
    }
    for (const name of telemetryIn(text)) if (!telemetryExists(name)) report(line, "metric", name);
  }
  return findings;
}

const WHAT: Record<Kind, string> = {
  path: "no such file or folder in the repository",
  anchor: "no heading of this document has this anchor",
  script: "no such script in package.json",
  variable: "no code reads this variable (and it is not a standard one)",
  metric: "no code creates this metric or attribute, and the dashboard does not name it",
};

export function formatFinding(finding: Finding): string {
  return `${finding.document}:${finding.line}: ${finding.kind} ${finding.missing}: ${WHAT[finding.kind]}`;
}
