// Builds a Go program of the project's own into the user-level cache, once per pinned version and
// content of its module (go.mod, go.sum, .go sources).
import fs from "node:fs";
import path from "node:path";
import { buildCacheDir } from "./build-cache.ts";
import { InfraError, runLongTool, runTool } from "./process.ts";
import type { ServerContext } from "./server.ts";

/** The files that define a build in `moduleDir`. */
function moduleFiles(moduleDir: string): string[] {
  return fs
    .readdirSync(moduleDir)
    .filter((file) => file === "go.mod" || file === "go.sum" || file.endsWith(".go"))
    .map((file) => path.join(moduleDir, file));
}

export function goBinary(ctx: ServerContext, name: string, version: string, moduleDir: string): string {
  return path.join(buildCacheDir(ctx.config.cacheDir, name, version, moduleFiles(moduleDir)), name);
}

/**
 * What the command line of a server built here contains, whichever build of `version` it runs: after
 * an edit of its module, `status` and `down` still recognise the one started from the previous build.
 */
export function goMarker(ctx: ServerContext, name: string, version: string): string {
  return path.join(ctx.config.cacheDir, `${name}-${version}`);
}

/** `go build -o <cache>/<name>-<version>-<hash>/<name> <pkg>` in `moduleDir`, unless that binary exists. */
export async function ensureGoBuild(
  ctx: ServerContext,
  opts: { name: string; version: string; moduleDir: string; pkg: string; expect: string },
): Promise<string> {
  const binary = goBinary(ctx, opts.name, opts.version, opts.moduleDir);
  if (fs.existsSync(binary)) return binary;
  const go = runTool("sh", ["-c", "command -v go || true"], { what: "looking for go" }).trim();
  if (go === "") {
    // The same Go as the module's `go` line: Go 1.21 and later fetch that toolchain themselves.
    const goMod = fs.readFileSync(path.join(opts.moduleDir, "go.mod"), "utf8");
    const wanted = goMod.match(/^go (\S+)$/m)?.[1] ?? "";
    throw new InfraError(
      `building ${opts.name} needs Go ${wanted} on PATH, or Go 1.21+ to fetch the ${wanted} toolchain through the Go module proxy (https://go.dev/dl is not reachable here; install Go from your usual source)`,
    );
  }
  ctx.say(`building ${opts.name} ${opts.version} with Go into ${binary} (${opts.expect} on 2 cores, once)`);
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const staging = `${binary}.partial-${process.pid}`;
  const started = Date.now();
  await runLongTool("go", ["build", "-o", staging, opts.pkg], {
    cwd: opts.moduleDir,
    what: `go build of ${opts.name}`,
    source: "the Go module proxy",
  });
  fs.renameSync(staging, binary);
  ctx.say(`built ${opts.name} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return binary;
}
