// What each service may load and what it must, as one set of rules for the two proofs that each tier
// loads only its own code: the modules a running service process actually loaded
// (loaded-modules.int.spec.ts, recorded by tests/support/record-loaded-modules.ts) and the files each
// bundle reaches in esbuild's metafile (tests/bundle/bundle-contents.unit.spec.ts). Both describe a
// module the same way, as a path from the repository root (`node_modules/<package>/...` for a
// package's file, or for a package a bundle leaves external), so the rules cannot drift apart.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as v from "valibot";
import type { ServiceName } from "#services/launch.ts";

const root = path.resolve(import.meta.dirname, "../..");

/** A module a service loaded or reached, and the module it came in through, if known. */
export interface ModuleRecord {
  id: string;
  from?: string;
}

interface Rule {
  what: string;
  matches(id: string): boolean;
}

/** The packages a module belongs to, outermost first: `node_modules/a/node_modules/b/x.js` is in a and b. */
export function packagesOf(id: string): string[] {
  return [...id.matchAll(/(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/g)].flatMap((match) =>
    match[1] === undefined ? [] : [match[1]],
  );
}

/** A package, or with a trailing `/*` every package of a scope. */
function npmPackage(name: string): Rule {
  const scope = name.endsWith("/*") ? name.slice(0, -1) : undefined;
  return {
    what: `package ${name}`,
    matches: (id) => packagesOf(id).some((found) => (scope ? found.startsWith(scope) : found === name)),
  };
}

const ours = (id: string) => !id.startsWith("node:") && !id.startsWith("/") && packagesOf(id).length === 0;

/** Our own code below a folder of the repository. */
function under(folder: string): Rule {
  return { what: `${folder}*`, matches: (id) => ours(id) && id.startsWith(folder) };
}

function endingIn(suffix: string): Rule {
  return { what: `*${suffix}`, matches: (id) => ours(id) && id.endsWith(suffix) };
}

function exactly(file: string): Rule {
  return { what: file, matches: (id) => id === file };
}

const WRITE_SIDE = [
  under("shared/write-side/"),
  endingIn("-store.ts"),
  npmPackage("drizzle-orm"),
  npmPackage("postgres"),
];
const REDIS_CLIENT = npmPackage("redis");
const REDIS_PARTS = npmPackage("@redis/*");
const READ_SIDE = [
  under("shared/read-side/"),
  endingIn("-read-model.ts"),
  npmPackage("mongodb"),
  REDIS_CLIENT,
  REDIS_PARTS,
];

/**
 * What each service must never load. The gateway validates, routes and calls over gRPC: no store, no
 * handler, no database or Kafka client, no outbox or projection (those live in the two sides' folders).
 */
export const FORBIDDEN: Record<ServiceName, readonly Rule[]> = {
  // Redis only as the rate limits' store (services/gateway/rate-limit.ts): its client, uninstrumented.
  gateway: [
    ...WRITE_SIDE,
    ...READ_SIDE.filter((rule) => rule !== REDIS_CLIENT && rule !== REDIS_PARTS),
    endingIn(".handler.ts"),
    npmPackage("@confluentinc/*"),
  ],
  writer: READ_SIDE,
  reader: WRITE_SIDE,
};

/**
 * What each service must load: proof that the list under test is the real one (a recorder that
 * recorded nothing, or a metafile walk that missed the chunks, would pass every FORBIDDEN rule).
 */
export const REQUIRED: Record<ServiceName, readonly Rule[]> = {
  gateway: [
    exactly("services/gateway/main.ts"),
    exactly("shared/platform/telemetry/preload-gateway.ts"),
    npmPackage("hono"),
    npmPackage("@grpc/grpc-js"),
    npmPackage("@opentelemetry/sdk-trace-node"),
  ],
  writer: [
    exactly("services/writer/main.ts"),
    exactly("shared/platform/telemetry/preload-writer.ts"),
    npmPackage("drizzle-orm"),
    npmPackage("postgres"),
    npmPackage("@confluentinc/kafka-javascript"),
  ],
  reader: [
    exactly("services/reader/main.ts"),
    exactly("shared/platform/telemetry/preload-reader.ts"),
    npmPackage("mongodb"),
    npmPackage("redis"),
    npmPackage("@confluentinc/kafka-javascript"),
  ],
};

/** A URL or absolute path as a module id: a path from the repository root, or `node:<builtin>`. */
export function moduleId(urlOrPath: string): string {
  if (urlOrPath.startsWith("node:")) return urlOrPath;
  const file = urlOrPath.startsWith("file:") ? fileURLToPath(urlOrPath) : path.resolve(root, urlOrPath);
  const relative = path.relative(root, file);
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative.split(path.sep).join("/");
}

export interface Verdict {
  /** One line per way into forbidden code (a forbidden module not loaded by another forbidden one). */
  violations: string[];
  /** Every forbidden module, doors and what came in behind them. */
  forbiddenCount: number;
  /** REQUIRED rules that nothing matched. */
  missing: string[];
}

export function judge(service: ServiceName, modules: readonly ModuleRecord[]): Verdict {
  const ruleOf = (id: string) => FORBIDDEN[service].find((rule) => rule.matches(id));
  const forbidden = modules.filter((module) => ruleOf(module.id));
  // Each forbidden module reached through another forbidden one is its consequence, not a cause.
  const doors = forbidden.filter((module) => module.from === undefined || !ruleOf(module.from));
  return {
    violations: doors.map(
      (module) => `${module.id} (${ruleOf(module.id)?.what}), loaded from ${module.from ?? "the entry"}`,
    ),
    forbiddenCount: forbidden.length,
    missing: REQUIRED[service]
      .filter((rule) => !modules.some((module) => rule.matches(module.id)))
      .map((rule) => rule.what),
  };
}

/** The failure message of a verdict, or undefined when it holds. */
export function explain(service: ServiceName, what: string, verdict: Verdict): string | undefined {
  const parts: string[] = [];
  if (verdict.violations.length > 0) {
    parts.push(
      `${service} ${what} ${verdict.forbiddenCount} forbidden module(s), through:\n  ${verdict.violations.join("\n  ")}`,
    );
  }
  if (verdict.missing.length > 0) {
    parts.push(`${service} ${what} nothing of: ${verdict.missing.join(", ")} (so this list cannot be the real one)`);
  }
  return parts.length > 0 ? parts.join("\n") : undefined;
}

const LineSchema = v.object({ url: v.string(), parent: v.optional(v.string()) });

/** The modules a recorded process (and its worker threads) loaded, from the recorder's file. */
export function readRecording(file: string): ModuleRecord[] {
  const seen = new Map<string, ModuleRecord>();
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line === "") continue;
    const { url, parent } = v.parse(LineSchema, JSON.parse(line));
    const id = moduleId(url);
    if (!seen.has(id)) seen.set(id, { id, from: parent === undefined ? undefined : moduleId(parent) });
  }
  return [...seen.values()];
}
