// The architecture's import rules, checked on the runtime import graph: which side of the code may
// load which. The gateway must not load database drivers or handlers, the writer nothing of the read
// side, the reader nothing of the write side; a rule written only in the README erodes one import at
// a time, so tests/architecture/import-rules.unit.spec.ts and `npm run check` hold the code to it.
//
// Imports are found on what Node actually runs: each file is type-stripped the way Node strips it,
// then lexed by es-module-lexer, so `import type` never counts, and strings or comments that look
// like imports never do.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { builtinModules, stripTypeScriptTypes } from "node:module";
import path from "node:path";
import { init, parse } from "es-module-lexer";

await init();

/** Where an import leads. `missing` names what it looked for; `computed` is an `import(expr)`. */
export type Target =
  | { kind: "file"; path: string }
  | { kind: "package"; name: string; specifier: string }
  | { kind: "builtin"; specifier: string }
  | { kind: "missing"; specifier: string; looked: string }
  | { kind: "computed" };

export interface Edge {
  target: Target;
  dynamic: boolean;
}

/** The files the rules look at; paths are relative to the repository root, with `/`. */
export interface Project {
  /** Every file that exists, so that an import of a file that is not read (JSON, proto/gen) still resolves. */
  files: ReadonlySet<string>;
  /** The source of each file whose imports are read. */
  sources: ReadonlyMap<string, string>;
  /** package.json's `imports` (`#shared/*` → `./shared/*`). */
  aliases: Readonly<Record<string, string>>;
}

export interface ImportGraph {
  edges: ReadonlyMap<string, readonly Edge[]>;
  /** Files that cannot be read and imports that lead nowhere: a rule cannot be checked past them. */
  problems: readonly Violation[];
}

/** `file -> target: rule`, and for a service's rule the chain of imports from its entry to `file`. */
export interface Violation {
  file: string;
  target: string;
  rule: string;
  chain?: readonly string[];
}

/** What a rule forbids to import, given the importing file (some rules depend on where it is). */
export interface Matcher {
  label: string;
  matches: (target: Target, from: string) => boolean;
}

/** A rule on the imports written in each file under a folder. */
export interface DirectRule {
  name: string;
  folder: string;
  forbidden: readonly Matcher[];
}

/** A rule on everything a service's process loads: every file reachable from its entry point. */
export interface ClosureRule {
  name: string;
  entry: string;
  forbidden: readonly Matcher[];
}

export interface RuntimeImport {
  /** Undefined for an `import(expr)` whose argument is not a string or template literal. */
  specifier: string | undefined;
  /** A template literal `import(`./${name}.ts`)`, reported with each substitution as `*`. */
  glob: boolean;
  dynamic: boolean;
}

// Node's type stripping turns `import { type A } from "m"` into `import {   } from "m"`, which the
// rules do not count since it names only types. Node does still load "m" for it (so does TypeScript
// under verbatimModuleSyntax); biome's useImportType warns about it and asks for `import type`.
const NO_BINDINGS_LEFT = /^(?:import|export)\s*\{[\s,]*\}\s*from\s*["'`]/;

/** The imports Node performs when it runs `source`. Throws when Node could not strip or parse it. */
export function runtimeImports(source: string): RuntimeImport[] {
  const js = stripTypeScriptTypes(source, { mode: "strip" });
  const [imports] = parse(js);
  const found: RuntimeImport[] = [];
  for (const entry of imports) {
    if (entry.type === "import-meta") continue;
    if (entry.type === "dynamic") {
      found.push({ specifier: entry.specifier, glob: entry.glob, dynamic: true });
    } else if (!NO_BINDINGS_LEFT.test(js.slice(entry.importStart, entry.importEnd))) {
      found.push({ specifier: entry.specifier, glob: false, dynamic: false });
    }
  }
  return found;
}

const builtins = new Set(builtinModules);

/** Node's resolution of a subpath import: an exact key, else the `*` pattern with the longest prefix. */
function applyAlias(specifier: string, aliases: Readonly<Record<string, string>>): string | undefined {
  const exact = aliases[specifier];
  if (exact !== undefined) return exact;
  let best: { prefix: string; value: string } | undefined;
  for (const [key, value] of Object.entries(aliases)) {
    const star = key.indexOf("*");
    if (star < 0) continue;
    const prefix = key.slice(0, star);
    const suffix = key.slice(star + 1);
    const fits =
      specifier.startsWith(prefix) && specifier.endsWith(suffix) && specifier.length >= prefix.length + suffix.length;
    if (!fits || (best !== undefined && best.prefix.length >= prefix.length)) continue;
    best = { prefix, value: value.replaceAll("*", specifier.slice(prefix.length, specifier.length - suffix.length)) };
  }
  return best?.value;
}

/** The repository path (or package) that `specifier`, written in `from`, names; a glob may name several. */
export function resolve(from: string, specifier: string, project: Project, glob = false): Target[] {
  let wanted: string;
  if (specifier.startsWith("#")) {
    const mapped = applyAlias(specifier, project.aliases);
    if (mapped === undefined) return [{ kind: "missing", specifier, looked: "no package.json imports entry" }];
    wanted = path.posix.normalize(mapped);
  } else if (specifier.startsWith("./") || specifier.startsWith("../")) {
    wanted = path.posix.join(path.posix.dirname(from), specifier);
  } else if (specifier.startsWith("node:") || builtins.has(specifier)) {
    return [{ kind: "builtin", specifier }];
  } else if (/^[a-z]+:/i.test(specifier) || specifier.startsWith("/")) {
    return [{ kind: "missing", specifier, looked: "an absolute path or URL, outside the repository's graph" }];
  } else {
    const parts = specifier.split("/");
    const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
    return [{ kind: "package", name, specifier }];
  }
  if (!glob)
    return project.files.has(wanted)
      ? [{ kind: "file", path: wanted }]
      : [{ kind: "missing", specifier, looked: wanted }];
  const pattern = new RegExp(`^${wanted.split("*").map(escapeRegExp).join(".*")}$`);
  const matched = [...project.files].filter((file) => pattern.test(file)).sort();
  if (matched.length === 0) return [{ kind: "missing", specifier, looked: wanted }];
  return matched.map((file) => ({ kind: "file", path: file }));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function describeTarget(target: Target): string {
  switch (target.kind) {
    case "file":
      return target.path;
    case "package":
    case "builtin":
      return target.specifier;
    case "missing":
      return `${target.specifier} (${target.looked})`;
    case "computed":
      return "import(<computed>)";
  }
}

/** Every file's runtime imports, resolved; files that cannot be read and imports of nothing are problems. */
export function buildGraph(project: Project): ImportGraph {
  const edges = new Map<string, Edge[]>();
  const problems: Violation[] = [];
  for (const [file, source] of [...project.sources].sort(([a], [b]) => a.localeCompare(b))) {
    const fileEdges: Edge[] = [];
    edges.set(file, fileEdges);
    let imports: RuntimeImport[];
    try {
      imports = runtimeImports(source);
    } catch (error) {
      const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
      problems.push({ file, target: "(its own source)", rule: `cannot be type-stripped and lexed: ${reason}` });
      continue;
    }
    for (const entry of imports) {
      const targets: Target[] =
        entry.specifier === undefined ? [{ kind: "computed" }] : resolve(file, entry.specifier, project, entry.glob);
      for (const target of targets) {
        fileEdges.push({ target, dynamic: entry.dynamic });
        if (target.kind === "missing") {
          problems.push({ file, target: describeTarget(target), rule: "import resolves to no file of the repository" });
        }
      }
    }
  }
  return { edges, problems };
}

/** Test files may import anything (they set up whole systems), but they are still read. */
export function isTestFile(file: string): boolean {
  return file.endsWith(".spec.ts") || file.startsWith("tests/");
}

export const under = (folder: string): Matcher => ({
  label: `${folder}**`,
  matches: (target) => target.kind === "file" && target.path.startsWith(folder),
});

export const endingIn = (suffix: string): Matcher => ({
  label: `*${suffix}`,
  matches: (target) => target.kind === "file" && target.path.endsWith(suffix),
});

export const npmPackage = (name: string): Matcher => ({
  label: `the package ${name}`,
  matches: (target) => target.kind === "package" && target.name === name,
});

/** `functions/<a>/x.ts` → `a`; undefined for files directly in functions/ (the registry). */
function aggregateOf(file: string): string | undefined {
  const parts = file.split("/");
  return parts[0] === "functions" && parts.length > 2 ? parts[1] : undefined;
}

export const anotherAggregate: Matcher = {
  label: "functions/<another aggregate>/**",
  matches: (target, from) => {
    if (target.kind !== "file") return false;
    const own = aggregateOf(from);
    const theirs = aggregateOf(target.path);
    return own !== undefined && theirs !== undefined && own !== theirs;
  },
};

function firstMatch(forbidden: readonly Matcher[], target: Target, from: string): Matcher | undefined {
  return forbidden.find((matcher) => matcher.matches(target, from));
}

export function checkDirectRules(graph: ImportGraph, rules: readonly DirectRule[]): Violation[] {
  const violations: Violation[] = [];
  for (const [file, edges] of graph.edges) {
    if (isTestFile(file)) continue;
    for (const rule of rules) {
      if (!file.startsWith(rule.folder)) continue;
      for (const edge of edges) {
        const matcher = firstMatch(rule.forbidden, edge.target, file);
        if (matcher) {
          violations.push({ file, target: describeTarget(edge.target), rule: `${rule.name} (no ${matcher.label})` });
        }
      }
    }
  }
  return dedupe(violations);
}

/**
 * Walks what the entry loads, breadth first so each chain shown is a shortest one, and reports each
 * import that first steps into forbidden code. It does not walk on through forbidden files: what they
 * load goes away with the import that reached them, and each report is one import to cut.
 */
export function checkClosureRule(graph: ImportGraph, rule: ClosureRule): Violation[] {
  const violations: Violation[] = [];
  const parent = new Map<string, string | undefined>([[rule.entry, undefined]]);
  const chainTo = (file: string): string[] => {
    const chain: string[] = [];
    for (let at: string | undefined = file; at !== undefined; at = parent.get(at)) chain.unshift(at);
    return chain;
  };
  if (!graph.edges.has(rule.entry)) {
    return [{ file: rule.entry, target: rule.entry, rule: `${rule.name}: the entry point is not a file that is read` }];
  }
  const queue = [rule.entry];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const edge of graph.edges.get(next) ?? []) {
      const matcher = firstMatch(rule.forbidden, edge.target, next);
      if (matcher) {
        const rest = `${rule.name} (no ${matcher.label})`;
        violations.push({ file: next, target: describeTarget(edge.target), rule: rest, chain: chainTo(next) });
      } else if (edge.target.kind === "computed") {
        const rest = `${rule.name}: a computed import() cannot be followed, so what it loads is unchecked`;
        violations.push({ file: next, target: describeTarget(edge.target), rule: rest, chain: chainTo(next) });
      } else if (edge.target.kind === "file" && !parent.has(edge.target.path)) {
        parent.set(edge.target.path, next);
        queue.push(edge.target.path);
      }
    }
  }
  return dedupe(violations);
}

function dedupe(violations: Violation[]): Violation[] {
  const seen = new Set<string>();
  return violations.filter((violation) => {
    const key = `${violation.file}\0${violation.target}\0${violation.rule}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function formatViolation(violation: Violation): string {
  const line = `${violation.file} -> ${violation.target}: ${violation.rule}`;
  return violation.chain && violation.chain.length > 1 ? `${line}\n    via ${violation.chain.join(" -> ")}` : line;
}

export function formatViolations(violations: readonly Violation[]): string {
  return violations.map(formatViolation).join("\n");
}

/** Reads the repository at `root`: the files git tracks or would track (new ones too), less proto/gen/. */
export function loadProject(root: string): Project {
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = new Set(
    listed
      .split("\0")
      .filter((file) => file !== "" && !file.startsWith("node_modules/"))
      .filter((file) => fs.existsSync(path.join(root, file))),
  );
  const sources = new Map<string, string>();
  for (const file of files) {
    // proto/gen/ is generated (generated-code.unit.spec.ts holds it to proto/); it is a leaf here.
    if (file.endsWith(".ts") && !file.endsWith(".d.ts") && !file.startsWith("proto/gen/")) {
      sources.set(file, fs.readFileSync(path.join(root, file), "utf8"));
    }
  }
  const manifest: unknown = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
  const aliases: Record<string, string> = {};
  if (typeof manifest === "object" && manifest !== null && "imports" in manifest) {
    const imports = manifest.imports;
    if (typeof imports === "object" && imports !== null) {
      for (const [key, value] of Object.entries(imports)) if (typeof value === "string") aliases[key] = value;
    }
  }
  return { files, sources, aliases };
}

// The rules themselves. Sides: platform (config, log, errors, kafka, telemetry) under everything;
// transport (HTTP, gRPC shim, function declarations) beside the two stores; write side and read side
// never meeting; each aggregate's functions on their own.
const otherCode = [under("functions/"), under("services/")];

/**
 * What the gateway must never load: it validates, routes and calls over gRPC, it touches no store.
 * Redis is not among them: its rate limits count there (services/gateway/rate-limit.ts), never data.
 */
const gatewayForbidden: readonly Matcher[] = [
  under("shared/write-side/"),
  under("shared/read-side/"),
  endingIn(".handler.ts"),
  endingIn("-store.ts"),
  endingIn("-read-model.ts"),
  npmPackage("drizzle-orm"),
  npmPackage("postgres"),
  npmPackage("mongodb"),
  npmPackage("@confluentinc/kafka-javascript"),
];

export const directRules: readonly DirectRule[] = [
  {
    name: "shared/platform/ is the base every side stands on",
    folder: "shared/platform/",
    forbidden: [under("shared/transport/"), under("shared/write-side/"), under("shared/read-side/"), ...otherCode],
  },
  {
    name: "shared/transport/ is loaded by the gateway, so it knows neither store",
    folder: "shared/transport/",
    forbidden: [under("shared/write-side/"), under("shared/read-side/"), ...otherCode],
  },
  {
    name: "the write side never loads the read side",
    folder: "shared/write-side/",
    forbidden: [under("shared/read-side/"), ...otherCode],
  },
  {
    name: "the read side never loads the write side",
    folder: "shared/read-side/",
    forbidden: [under("shared/write-side/"), ...otherCode],
  },
  { name: "an aggregate's functions use no other aggregate's", folder: "functions/", forbidden: [anotherAggregate] },
  { name: "the gateway loads declarations only", folder: "services/gateway/", forbidden: gatewayForbidden },
];

export const closureRules: readonly ClosureRule[] = [
  {
    name: "the gateway process loads no store, handler or database client",
    entry: "services/gateway/main.ts",
    forbidden: gatewayForbidden,
  },
  {
    name: "the writer process loads nothing of the read side",
    entry: "services/writer/main.ts",
    forbidden: [under("shared/read-side/"), endingIn("-read-model.ts"), npmPackage("mongodb"), npmPackage("redis")],
  },
  {
    name: "the reader process loads nothing of the write side",
    entry: "services/reader/main.ts",
    forbidden: [under("shared/write-side/"), endingIn("-store.ts"), npmPackage("drizzle-orm"), npmPackage("postgres")],
  },
];
