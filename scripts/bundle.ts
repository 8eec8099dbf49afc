// `npm run bundle`: one esbuild bundle per service, dist/<service>.js, which the container images run.
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

// The bundles are ES modules, but CommonJS code inside them (and the externals it requires) calls
// `require`, which ES modules lack. esbuild's own `__require` shim uses a `require` in scope when
// there is one. The import is aliased because esbuild does not rename bundled code around banner
// text: a bundled module importing `createRequire` itself would otherwise be a duplicate
// declaration. `require` needs no alias: esbuild reserves that name and renames clashing bundled
// declarations (to `require2`).
const BANNER =
  'import { createRequire as __bundleCreateRequire } from "node:module"; const require = __bundleCreateRequire(import.meta.url);';

/** The esbuild options of every service bundle, exported so a test can bundle a probe the same way. */
export function buildOptions(entry: string, outfile: string): esbuild.BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
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
    logLevel: "warning",
  };
}

export type Written = { service: Service; file: string; bytes: number; mapBytes: number };

export async function bundle(
  services: readonly Service[] = SERVICES,
  outDir = path.join(root, "dist"),
): Promise<Written[]> {
  const missing = services.filter((service) => !fs.existsSync(entryPoint(service)));
  if (missing.length > 0) {
    throw new BundleError(
      `missing entry point${missing.length > 1 ? "s" : ""} ${missing.map((s) => path.relative(root, entryPoint(s))).join(", ")}`,
    );
  }
  const written: Written[] = [];
  for (const service of services) {
    const file = outputFile(service, outDir);
    await esbuild.build(buildOptions(entryPoint(service), file));
    written.push({ service, file, bytes: fs.statSync(file).size, mapBytes: fs.statSync(`${file}.map`).size });
  }
  return written;
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
