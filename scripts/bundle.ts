// `npm run bundle`: one esbuild bundle per service, dist/<service>.js, which the container images run,
// and the telemetry preload, dist/preload.js, which they run first (`node --import ./dist/preload.js`).
//
// The four are built together, with code splitting: what the preload and a service share (telemetry
// setup, config) lands in shared chunks, dist/chunk-<hash>.js, which Node loads once. Bundled
// separately, each file would carry its own copy of shared/platform/telemetry/setup.ts, and the service's copy
// would never see the telemetry the preload started (its /metrics would be empty). The chunks sit
// beside the entries, so import.meta.dirname is dist/ in every file, as shared/platform/config.ts expects.
//
// Native and instrumented packages stay external and are installed beside the bundle: a native
// addon cannot be inlined, and OpenTelemetry instrumentation patches modules as they are loaded,
// which it can only do to modules that are still loaded from node_modules. The Dockerfile reads
// EXTERNALS (through isExternal) to install exactly those packages in the runtime image.
import fs from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";

const root = path.resolve(import.meta.dirname, "..");

export class BundleError extends Error {
  override name = "BundleError";
}

export const SERVICES = ["gateway", "writer", "reader"] as const;
export type Service = (typeof SERVICES)[number];

/** Left out of the bundles and installed in the image; a trailing `/*` covers a whole npm scope. */
export const EXTERNALS = [
  "@confluentinc/kafka-javascript",
  "@grpc/grpc-js",
  "mongodb",
  "redis",
  "postgres",
  "pino",
  "@opentelemetry/*",
  // The preload registers its ESM loader hook; the hook module must be a file of its own.
  "import-in-the-middle",
  // The gateway serves the docs page's scripts and styles from this package's files at run time.
  "swagger-ui-dist",
] as const;

/** Whether an npm package name (not a deep import path) is one of EXTERNALS. */
export function isExternal(name: string): boolean {
  return EXTERNALS.some((pattern) =>
    pattern.endsWith("/*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern,
  );
}

export function entryPoint(service: Service): string {
  return path.join(root, "services", service, "main.ts");
}

export function outputFile(service: Service, outDir = path.join(root, "dist")): string {
  return path.join(outDir, `${service}.js`);
}

/** The telemetry preload every service is started with (services/launch.ts does the same unbundled). */
export const PRELOAD_ENTRY = path.join(root, "shared", "platform", "telemetry", "preload.ts");

export function preloadFile(outDir = path.join(root, "dist")): string {
  return path.join(outDir, "preload.js");
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
 * Exported so a test can bundle a probe the same way.
 */
export function buildOptions(entries: Record<string, string>, outdir: string): esbuild.BuildOptions {
  return {
    entryPoints: entries,
    outdir,
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
    external: [...EXTERNALS],
    banner: { js: BANNER },
    metafile: true,
    logLevel: "warning",
  };
}

/** One written file: a service, the preload, or a shared chunk. */
export type Written = { name: Service | "preload" | "chunk"; file: string; bytes: number; mapBytes: number };

export async function bundle(
  services: readonly Service[] = SERVICES,
  outDir = path.join(root, "dist"),
): Promise<Written[]> {
  const missing = [...services.map(entryPoint), PRELOAD_ENTRY].filter((file) => !fs.existsSync(file));
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
  const entries: Record<string, string> = Object.fromEntries(services.map((service) => [service, entryPoint(service)]));
  entries.preload = PRELOAD_ENTRY;
  const result = await esbuild.build(buildOptions(entries, outDir));
  const outputs = Object.keys(result.metafile?.outputs ?? {}).filter((file) => file.endsWith(".js"));
  const nameOf = (file: string): Written["name"] => {
    const base = path.basename(file, ".js");
    return base === "preload" ? "preload" : (services.find((service) => service === base) ?? "chunk");
  };
  // Services in the order asked for, then the preload, then the chunks.
  const order: Written["name"][] = [...services, "preload", "chunk"];
  return outputs
    .map((relative) => {
      const file = path.resolve(relative);
      return { name: nameOf(file), file, bytes: fs.statSync(file).size, mapBytes: fs.statSync(`${file}.map`).size };
    })
    .sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name) || a.file.localeCompare(b.file));
}

const size = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(0)} kB`;

if (import.meta.main) {
  bundle().then(
    (written) => {
      for (const { file, bytes, mapBytes } of written) {
        console.log(`bundle: wrote ${path.relative(root, file)} ${size(bytes)} (+ map ${size(mapBytes)})`);
      }
    },
    (error: unknown) => {
      // esbuild has already printed its diagnostics; one line says which step failed.
      console.error(`bundle: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      process.exit(1);
    },
  );
}
