// `npm run bundle`: one esbuild bundle per service, dist/<service>.js, which the container images run,
// and each service's telemetry preload, dist/preload-<service>.js, which they run first
// (`node --import ./dist/preload-<service>.js dist/<service>.js`).
//
// The six are built together, with code splitting: what a preload and its service share (telemetry
// setup, config) lands in shared chunks, dist/chunk-<hash>.js, which Node loads once. Bundled
// separately, each file would carry its own copy of shared/platform/telemetry/setup.ts, and the
// service's copy would never see the telemetry the preload started (its /metrics would be empty). The
// chunks sit beside the entries, so import.meta.dirname is dist/ in every file, as
// shared/platform/config.ts expects. esbuild puts in one chunk only modules that the same set of
// entries reaches, so the files an entry reaches hold nothing that only another service loads; the
// metafile (dist/meta.json) says which files those are, and what each service's image gets
// (runtimeFiles, stageRuntime) and what tests/bundle/bundle-contents.unit.spec.ts checks follow it.
//
// Native packages stay external and are installed beside the bundle, as a native addon cannot be
// inlined; so do the packages OpenTelemetry instrumentations used to patch as they were loaded
// (gRPC, the database clients, OpenTelemetry itself), which only works on modules loaded from
// node_modules. No instrumentation is left (every span is the project's own), so those could now
// be bundled; they are not yet. Each service's image installs its own EXTERNALS only (the
// Dockerfile calls stageRuntime), so the gateway's carries no Kafka client and no database driver.
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import * as esbuild from "esbuild";
import { parseCommandLine } from "./command-line.ts";

const root = path.resolve(import.meta.dirname, "..");

export class BundleError extends Error {
  override name = "BundleError";
}

export const SERVICES = ["gateway", "writer", "reader"] as const;
export type Service = (typeof SERVICES)[number];

export const isService = (name: string): name is Service => SERVICES.some((service) => service === name);

/** What every service's telemetry loads (shared/platform/telemetry/setup.ts and the preloads). */
const TELEMETRY = [
  "@opentelemetry/api",
  "@opentelemetry/exporter-prometheus",
  "@opentelemetry/exporter-metrics-otlp-http",
  "@opentelemetry/exporter-metrics-otlp-proto",
  "@opentelemetry/exporter-trace-otlp-http",
  "@opentelemetry/exporter-trace-otlp-proto",
  "@opentelemetry/resources",
  "@opentelemetry/sdk-metrics",
  "@opentelemetry/sdk-trace-base",
  "@opentelemetry/sdk-trace-node",
  "@opentelemetry/semantic-conventions",
] as const;

/** What runService gives every service: gRPC, logs, and the FFI the idle trim calls malloc_trim with. */
const EVERY_SERVICE = [...TELEMETRY, "@grpc/grpc-js", "pino", "koffi"] as const;

/**
 * Per service, the packages left out of its bundle and installed in its image, by npm name. A test
 * holds each list to the service's bundle: every package the bundle imports is listed, and every
 * listed package is imported (or in FOUND_AT_RUN_TIME).
 */
export const EXTERNALS: Record<Service, readonly string[]> = {
  // redis: the rate limits' counters (services/gateway/rate-limit.ts), never data.
  gateway: [...EVERY_SERVICE, "redis", "swagger-ui-dist"],
  writer: [...EVERY_SERVICE, "@confluentinc/kafka-javascript", "postgres"],
  reader: [...EVERY_SERVICE, "@confluentinc/kafka-javascript", "mongodb", "redis"],
};

/** Installed for the service but never imported, so no metafile shows it: its files are found by path. */
export const FOUND_AT_RUN_TIME: readonly string[] = [
  // The gateway serves the docs page's scripts and styles from this package's files.
  "swagger-ui-dist",
];

/**
 * What esbuild leaves external: every service's EXTERNALS (one build serves all three), and any
 * OpenTelemetry package whatever imports it, so that a new one shows up as an import the test can
 * hold to a service's list rather than being bundled unnoticed.
 */
const EXTERNAL_PATTERNS = [...new Set([...Object.values(EXTERNALS).flat(), "@opentelemetry/*"])];

/** Files besides dist/ a service's image needs. */
const RUNTIME_EXTRAS: Record<Service, readonly string[]> = {
  gateway: [],
  // The writer applies drizzle-kit's migrations at start (shared/platform/config.ts finds them beside dist/).
  writer: ["drizzle"],
  reader: [],
};

export function entryPoint(service: Service): string {
  return path.join(root, "services", service, "main.ts");
}

export function outputFile(service: Service, outDir = path.join(root, "dist")): string {
  return path.join(outDir, `${service}.js`);
}

/** The telemetry preload of one service (shared/platform/telemetry/preload.ts picks the same one unbundled). */
export function preloadEntry(service: Service): string {
  return path.join(root, "shared", "platform", "telemetry", `preload-${service}.ts`);
}

export function preloadFile(service: Service, outDir = path.join(root, "dist")): string {
  return path.join(outDir, `preload-${service}.js`);
}

/** esbuild's metafile of the last build: which inputs each output holds and what it imports. */
export function metafileFile(outDir = path.join(root, "dist")): string {
  return path.join(outDir, "meta.json");
}

/** Shared chunks are named so that a new build can remove the previous build's ones. */
const CHUNK_PREFIX = "chunk-";

// The bundles are ES modules, but CommonJS code inside them (and the externals it requires) calls
// `require`, which ES modules lack. esbuild's own `__require` shim uses a `require` in scope when
// there is one. The import is aliased because esbuild does not rename bundled code around banner
// text: a bundled module importing `createRequire` itself would otherwise be a duplicate
// declaration. `require` needs no alias: esbuild reserves that name and renames clashing bundled
// declarations (to `require2`). Every output file, chunks included, gets the banner.
const BANNER =
  'import { createRequire as __bundleCreateRequire } from "node:module"; const require = __bundleCreateRequire(import.meta.url);';

/**
 * The esbuild options of the bundles: `entries` maps an output name (dist/<name>.js) to its source.
 * Exported so a test can bundle a probe the same way. Metafile paths are relative to the repository
 * root, whatever the working directory.
 */
export function buildOptions(entries: Record<string, string>, outdir: string): esbuild.BuildOptions {
  return {
    entryPoints: entries,
    outdir,
    absWorkingDir: root,
    entryNames: "[name]",
    chunkNames: `${CHUNK_PREFIX}[hash]`,
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node24",
    sourcemap: true,
    // Stack traces only need the mappings; the image ships no sources to show anyway.
    sourcesContent: false,
    // Error and class names appear in logs and problem details; keep them as written.
    keepNames: true,
    external: EXTERNAL_PATTERNS,
    banner: { js: BANNER },
    metafile: true,
    logLevel: "warning",
  };
}

/** The npm package an import specifier names (`@scope/name/deep.js` is `@scope/name`), or undefined for a builtin. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith("node:") || builtinModules.includes(specifier)) return undefined;
  const parts = specifier.split("/");
  return (specifier.startsWith("@") ? parts.slice(0, 2) : parts.slice(0, 1)).join("/");
}

/** What one service's process loads of a build: the files it runs, what they hold, what they import. */
export interface ServiceContents {
  /** Absolute paths of the .js files: its entry, its preload, and every chunk they import, statically or not. */
  files: string[];
  /** The bundled sources (paths from the repository root, as esbuild names them). */
  inputs: string[];
  /** The npm packages those files import from node_modules (the externals it needs installed). */
  packages: string[];
}

/**
 * Follows one service's entry and preload through the chunks they import, dynamic imports included:
 * what the service can load, and nothing that only another service's entry reaches.
 */
export function serviceContents(
  metafile: esbuild.Metafile,
  service: Service,
  outDir = path.join(root, "dist"),
): ServiceContents {
  const byFile = new Map(Object.keys(metafile.outputs).map((key) => [path.resolve(root, key), key]));
  const files: string[] = [];
  const inputs = new Set<string>();
  const packages = new Set<string>();
  const pending = [outputFile(service, outDir), preloadFile(service, outDir)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.includes(file)) continue;
    const key = byFile.get(file);
    const output = key === undefined ? undefined : metafile.outputs[key];
    if (!output) throw new BundleError(`the metafile has no output ${path.relative(root, file)}`);
    files.push(file);
    for (const input of Object.keys(output.inputs)) inputs.add(input);
    for (const imported of output.imports) {
      if (!imported.external) pending.push(path.resolve(root, imported.path));
      else {
        const name = packageName(imported.path);
        if (name !== undefined) packages.add(name);
      }
    }
  }
  return { files: files.sort(), inputs: [...inputs].sort(), packages: [...packages].sort() };
}

/** One written file: a service, a service's preload, or a shared chunk. */
export type Written = {
  name: Service | `preload-${Service}` | "chunk";
  file: string;
  bytes: number;
  mapBytes: number;
};

export async function bundle(
  services: readonly Service[] = SERVICES,
  outDir = path.join(root, "dist"),
): Promise<Written[]> {
  const missing = services
    .flatMap((service) => [entryPoint(service), preloadEntry(service)])
    .filter((file) => !fs.existsSync(file));
  if (missing.length > 0) {
    throw new BundleError(
      `missing entry point${missing.length > 1 ? "s" : ""} ${missing.map((file) => path.relative(root, file)).join(", ")}`,
    );
  }
  // Chunk names change with their content: the previous build's would pile up beside the new ones.
  if (fs.existsSync(outDir)) {
    for (const name of fs.readdirSync(outDir)) {
      if (name.startsWith(CHUNK_PREFIX)) fs.rmSync(path.join(outDir, name));
    }
  }
  const entries: Record<string, string> = {};
  for (const service of services) entries[service] = entryPoint(service);
  for (const service of services) entries[`preload-${service}`] = preloadEntry(service);
  const result = await esbuild.build(buildOptions(entries, outDir));
  if (!result.metafile) throw new BundleError("esbuild wrote no metafile");
  fs.writeFileSync(metafileFile(outDir), JSON.stringify(result.metafile));
  const outputs = Object.keys(result.metafile.outputs).filter((file) => file.endsWith(".js"));
  const names: Written["name"][] = [...services, ...services.map((service) => `preload-${service}` as const)];
  const nameOf = (file: string): Written["name"] =>
    names.find((name) => name === path.basename(file, ".js")) ?? "chunk";
  // Services in the order asked for, then their preloads, then the chunks.
  const order: Written["name"][] = [...names, "chunk"];
  return outputs
    .map((relative) => {
      const file = path.resolve(root, relative);
      return { name: nameOf(file), file, bytes: fs.statSync(file).size, mapBytes: fs.statSync(`${file}.map`).size };
    })
    .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name) || a.file.localeCompare(b.file));
}

/** The files of dist/ one service's image gets: what serviceContents reaches, with source maps. */
export function runtimeFiles(service: Service, outDir = path.join(root, "dist")): string[] {
  const metafile: esbuild.Metafile = JSON.parse(fs.readFileSync(metafileFile(outDir), "utf8"));
  return serviceContents(metafile, service, outDir).files.flatMap((file) => [file, `${file}.map`]);
}

/**
 * Lays out what one service's image runs from, in `into`: its files of dist/, the extras it needs,
 * and a package.json cut down to its EXTERNALS, against which the Dockerfile prunes node_modules.
 * The manifest keeps "type": "module", which makes Node load dist/*.js as ES modules.
 */
export function stageRuntime(service: Service, into: string, outDir = path.join(root, "dist")): void {
  fs.mkdirSync(path.join(into, "dist"), { recursive: true });
  for (const file of runtimeFiles(service, outDir)) fs.copyFileSync(file, path.join(into, "dist", path.basename(file)));
  for (const extra of RUNTIME_EXTRAS[service]) {
    fs.cpSync(path.join(root, extra), path.join(into, extra), { recursive: true });
  }
  const manifest: { dependencies: Record<string, string>; [key: string]: unknown } = JSON.parse(
    fs.readFileSync(path.join(root, "package.json"), "utf8"),
  );
  const kept = EXTERNALS[service].map((name) => {
    const version = manifest.dependencies[name];
    if (version === undefined) throw new BundleError(`${service} needs ${name}, which package.json does not depend on`);
    return [name, version] as const;
  });
  manifest.dependencies = Object.fromEntries(kept);
  delete manifest.devDependencies;
  delete manifest.scripts;
  fs.writeFileSync(path.join(into, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

const size = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(0)} kB`;

const USAGE = `usage: npm run bundle                           the services and their preloads into dist/
       npm run bundle -- stage <service> <dir>  one service's runtime files into <dir> (the Dockerfile's step)
services: ${SERVICES.join(", ")}`;

/** `node scripts/bundle.ts` bundles; `node scripts/bundle.ts stage <service> <dir>` is the Dockerfile's step. */
async function main(): Promise<number> {
  const { positionals } = parseCommandLine("bundle", USAGE, { allowPositionals: true });
  if (positionals[0] === "stage") {
    const [, service = "", into = "", ...extra] = positionals;
    if (!isService(service) || into === "" || extra.length > 0) {
      console.error(`bundle: usage: stage <${SERVICES.join("|")}> <dir> (got service "${service}")`);
      return 2;
    }
    stageRuntime(service, into);
    console.log(`bundle: staged ${service}'s runtime files in ${into}`);
    return 0;
  }
  if (positionals.length > 0) {
    console.error(`bundle: unknown command '${positionals[0]}' (--help shows the usage)`);
    return 2;
  }
  const written = await bundle();
  for (const { file, bytes, mapBytes } of written) {
    console.log(`bundle: wrote ${path.relative(root, file)} ${size(bytes)} (+ map ${size(mapBytes)})`);
  }
  const metafile: esbuild.Metafile = JSON.parse(fs.readFileSync(metafileFile(), "utf8"));
  for (const service of SERVICES) {
    const { files } = serviceContents(metafile, service);
    const bytes = files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
    console.log(`bundle: ${service} runs ${files.length} files, ${size(bytes)}`);
  }
  return 0;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      // esbuild has already printed its diagnostics; one line says which step failed.
      console.error(`bundle: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      process.exit(1);
    },
  );
}
