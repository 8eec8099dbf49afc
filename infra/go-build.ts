// Builds a Go program of the project's own into the user-level cache, once per pinned version and
// content of its module (go.mod, go.sum, .go sources, and .patch files when it carries patches).
//
// A module folder may carry patches (`*.patch`, unified diffs applied in name order) to one of its
// dependencies, e.g. infra/ferretdb/pushdown.patch to FerretDB: the build then copies that
// dependency's source from the Go module cache (fetched through the Go module proxy) into a staging
// folder inside the build cache, applies the patches there, and builds a staged copy of the module
// whose go.mod `replace`s the dependency with the patched copy. The committed go.mod is never
// edited. `stock: true` builds the same module without its patches, cached apart (the patch files
// are then not part of the cache key).
import fs from "node:fs";
import path from "node:path";
import { whereIs } from "./apt.ts";
import { buildCacheDir } from "./build-cache.ts";
import { InfraError, runLongTool, runTool } from "./process.ts";
import type { Requirement, ServerContext } from "./server.ts";

/** A dependency that the module folder's `*.patch` files apply to. */
export interface PatchedModule {
  /** Its module path, e.g. github.com/FerretDB/FerretDB. */
  module: string;
  /** Its version, as the committed go.mod requires it, e.g. v1.24.2. */
  version: string;
}

export interface GoBuildOptions {
  /** Build without the module folder's patches (the dependency as published). */
  stock?: boolean;
}

/** The module folder's patch files, in the order they apply. */
function patchFiles(moduleDir: string): string[] {
  return fs
    .readdirSync(moduleDir)
    .filter((file) => file.endsWith(".patch"))
    .sort()
    .map((file) => path.join(moduleDir, file));
}

/** The files that define a build in `moduleDir`. */
function moduleFiles(moduleDir: string, options: GoBuildOptions = {}): string[] {
  const sources = fs
    .readdirSync(moduleDir)
    .filter((file) => file === "go.mod" || file === "go.sum" || file.endsWith(".go"))
    .map((file) => path.join(moduleDir, file));
  return options.stock ? sources : [...sources, ...patchFiles(moduleDir)];
}

export function goBinary(
  ctx: ServerContext,
  name: string,
  version: string,
  moduleDir: string,
  options: GoBuildOptions = {},
): string {
  return path.join(buildCacheDir(ctx.config.cacheDir, name, version, moduleFiles(moduleDir, options)), name);
}

/**
 * What the command line of a server built here contains, whichever build of `version` it runs: after
 * an edit of its module, `status` and `down` still recognise the one started from the previous build.
 */
export function goMarker(ctx: ServerContext, name: string, version: string): string {
  return path.join(ctx.config.cacheDir, `${name}-${version}`);
}

/** Where to get the Go that builds `name` from `moduleDir`, in one line. */
function goFix(name: string, moduleDir: string): string {
  // The same Go as the module's `go` line: Go 1.21 and later fetch that toolchain themselves.
  const goMod = fs.readFileSync(path.join(moduleDir, "go.mod"), "utf8");
  const wanted = goMod.match(/^go (\S+)$/m)?.[1] ?? "";
  return `building ${name} needs Go ${wanted} on PATH, or Go 1.21+ to fetch the ${wanted} toolchain through the Go module proxy (https://go.dev/dl is not reachable here; install Go from your usual source)`;
}

/** Go, when the build of `name` is not in the cache yet: what `ensureGoBuild` would need. */
export function goRequirement(
  ctx: ServerContext,
  name: string,
  version: string,
  moduleDir: string,
  options: GoBuildOptions = {},
): Requirement {
  const binary = goBinary(ctx, name, version, moduleDir, options);
  const found = fs.existsSync(binary) ? `not needed: ${name} is built (${binary})` : whereIs("go");
  return { name: `go (${name} ${version})`, found, fix: goFix(name, moduleDir) };
}

/**
 * `go build -o <cache>/<name>-<version>-<hash>/<name> <pkg>` in `moduleDir`, unless that binary
 * exists; with the folder's patches applied to `patches.module` unless `stock`.
 */
export async function ensureGoBuild(
  ctx: ServerContext,
  opts: { name: string; version: string; moduleDir: string; pkg: string; expect: string; patches?: PatchedModule },
  options: GoBuildOptions = {},
): Promise<string> {
  const binary = goBinary(ctx, opts.name, opts.version, opts.moduleDir, options);
  if (fs.existsSync(binary)) return binary;
  const patches = options.stock ? [] : patchFiles(opts.moduleDir);
  if (patches.length > 0 && opts.patches === undefined) {
    throw new InfraError(`${opts.moduleDir} has patch files but its build does not say which module they patch`);
  }
  if (whereIs("go") === undefined) throw new InfraError(goFix(opts.name, opts.moduleDir));
  const patchNames = patches.map((file) => path.basename(file)).join(", ");
  const flavour = patches.length > 0 ? ` with ${patchNames}` : options.stock ? " (stock)" : "";
  ctx.say(
    `building ${opts.name} ${opts.version}${flavour} with Go into ${binary} (${opts.expect} on 2 cores, once${ctx.lowPriority ? "; at low priority" : ""})`,
  );
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const staging = `${binary}.partial-${process.pid}`;
  const started = Date.now();
  const sources = `${staging}-src`;
  try {
    // Patched: built in a staged copy of the module whose go.mod replaces the patched dependency.
    const cwd =
      patches.length > 0 && opts.patches !== undefined
        ? await stagePatched(ctx, opts.moduleDir, opts.patches, patches, sources)
        : opts.moduleDir;
    const go = ["go", "build", "-o", staging, opts.pkg];
    const [command = "go", ...args] = ctx.lowPriority ? ["nice", "-n", "19", ...go] : go;
    await runLongTool(command, args, {
      cwd,
      what: `go build of ${opts.name}${cwd === opts.moduleDir ? "" : ` (patched, in ${cwd})`}`,
      source: "the Go module proxy",
    });
  } finally {
    fs.rmSync(sources, { recursive: true, force: true });
  }
  fs.renameSync(staging, binary);
  ctx.say(`built ${opts.name} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return binary;
}

/**
 * Stages `<sources>/module` (the dependency's published source with `patches` applied) and
 * `<sources>/main` (a copy of the module folder whose go.mod replaces the dependency with it);
 * returns the folder to build in.
 */
async function stagePatched(
  ctx: ServerContext,
  moduleDir: string,
  patched: PatchedModule,
  patches: string[],
  sources: string,
): Promise<string> {
  const { module, version } = patched;
  ctx.say(`fetching the source of ${module}@${version} through the Go module proxy`);
  const downloaded = await runLongTool("go", ["mod", "download", "-json", `${module}@${version}`], {
    cwd: moduleDir,
    what: `go mod download ${module}@${version}`,
    source: "the Go module proxy",
  });
  const dir = (JSON.parse(downloaded) as { Dir?: string }).Dir;
  if (dir === undefined || !fs.existsSync(dir)) {
    throw new InfraError(`go mod download ${module}@${version} gave no source folder`);
  }

  const moduleCopy = path.join(sources, "module");
  const main = path.join(sources, "main");
  fs.rmSync(sources, { recursive: true, force: true });
  fs.mkdirSync(main, { recursive: true });
  // The module cache is read-only: the copy must be writable for the patches.
  fs.cpSync(dir, moduleCopy, { recursive: true });
  runTool("chmod", ["-R", "u+w", moduleCopy], { what: "making the staged source writable" });
  for (const patch of patches) {
    ctx.say(`applying ${path.basename(patch)} to ${module}@${version}`);
    // git apply: all hunks or none, no fuzz; the ceiling keeps it from taking an enclosing repository for this one.
    runTool("git", ["apply", "--whitespace=nowarn", "-p1", patch], {
      cwd: moduleCopy,
      env: { ...process.env, GIT_CEILING_DIRECTORIES: sources },
      what: `applying ${path.basename(patch)} to ${module}@${version} (does it still match this version?)`,
    });
  }

  for (const file of moduleFiles(moduleDir, { stock: true }))
    fs.copyFileSync(file, path.join(main, path.basename(file)));
  runTool("go", ["mod", "edit", `-replace=${module}=../module`], { cwd: main, what: "go mod edit -replace" });
  return main;
}
