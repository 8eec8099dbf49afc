// Builds a Go program of the project's own into the user-level cache, once per pinned version.
import fs from "node:fs";
import path from "node:path";
import { InfraError, runLongTool, runTool } from "./process.ts";
import type { ServerContext } from "./server.ts";

export function goBinary(ctx: ServerContext, name: string, version: string): string {
  return path.join(ctx.config.cacheDir, `${name}-${version}`, name);
}

/** `go build -o <cache>/<name>-<version>/<name> <pkg>` in `moduleDir`, unless that binary exists. */
export async function ensureGoBuild(
  ctx: ServerContext,
  opts: { name: string; version: string; moduleDir: string; pkg: string; expect: string },
): Promise<string> {
  const binary = goBinary(ctx, opts.name, opts.version);
  if (fs.existsSync(binary)) return binary;
  const go = runTool("sh", ["-c", "command -v go || true"], { what: "looking for go" }).trim();
  if (go === "") {
    throw new InfraError(
      `building ${opts.name} needs Go 1.24 or newer on PATH (https://go.dev/dl is not reachable here; install it from your usual source)`,
    );
  }
  ctx.say(`building ${opts.name} ${opts.version} with Go into ${binary} (${opts.expect} on 2 cores, once)`);
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const staging = `${binary}.partial-${process.pid}`;
  const started = Date.now();
  await runLongTool("go", ["build", "-o", staging, opts.pkg], {
    cwd: opts.moduleDir,
    what: `go build of ${opts.name}`,
  });
  fs.renameSync(staging, binary);
  ctx.say(`built ${opts.name} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return binary;
}
