// `npm run infra -- prune`: removes the folders of the user cache this checkout no longer uses. The
// cache is keyed by version and by the content of the files that define each build
// (infra/build-cache.ts), so every edit or upgrade leaves the previous folder behind.
//
// Only folders whose name says what they hold are judged, each against what this checkout uses:
//   <name>-<version>-<hash>  a build of a server this checkout builds: kept if it is a current one;
//   node-<version>           kept if it is the pinned Node (infra/node-version.mjs);
//   kafka-addon/<key>        always kept: keyed by the Node ABI of whichever checkout built it.
// Anything else is left alone. A folder some live process runs from (its executable, working
// folder or an argument) is kept whatever its name: the cache is shared by every clone on the
// machine, and another clone's servers, or the Node running this very script, may still use an
// older folder.
import fs from "node:fs";
import path from "node:path";

export interface CacheFolder {
  /** The folder's path relative to the cache folder, e.g. `ferretdb-1.24.2-3ac6f072`. */
  name: string;
  bytes: number;
  /** Whether it goes (with `dryRun`: would go). */
  remove: boolean;
  /** Why it goes or stays. */
  why: string;
}

export interface PruneOptions {
  /** The build folders this checkout uses (`cacheFolders` in infra/stack.ts). */
  current: string[];
  /** The Node version this checkout pins. */
  nodeVersion: string;
  /** Say what would be removed, remove nothing. */
  dryRun: boolean;
}

/** `<name>-<version>-<8 hex digits>`, as buildCacheDir names a build. */
const BUILD = /^([a-z0-9]+)-.+-[0-9a-f]{8}$/;
const NODE = /^node-(\d+\.\d+\.\d+)$/;

/** The bytes of the files under `dir`, symbolic links counted as links, never followed. */
function folderBytes(dir: string): number {
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    try {
      if (!entry.isDirectory()) bytes += fs.lstatSync(path.join(entry.parentPath, entry.name)).size;
    } catch {
      // removed while we counted
    }
  }
  return bytes;
}

/** For each folder, the pid of a live process that runs from it, if any. */
function inUse(folders: string[]): Map<string, number> {
  const found = new Map<string, number>();
  if (folders.length === 0) return found;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const paths: string[] = [];
    for (const link of ["exe", "cwd"]) {
      try {
        paths.push(fs.readlinkSync(`/proc/${entry}/${link}`));
      } catch {
        // another user's process, or one that has just ended
      }
    }
    try {
      paths.push(...fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0"));
    } catch {
      continue;
    }
    for (const folder of folders) {
      // With a separator after it: node-24.2 is not node-24.21.0. `-cp <folder>/libs/*` and
      // `--config=<folder>/x` count; so does the folder itself.
      if (!found.has(folder) && paths.some((p) => `${p}/`.includes(`${folder}/`))) found.set(folder, Number(entry));
    }
  }
  return found;
}

/** What to do with one folder of the cache, by its name alone; undefined: not one prune judges. */
function verdict(
  name: string,
  options: PruneOptions,
  builds: Set<string>,
): { remove: boolean; why: string } | undefined {
  const node = NODE.exec(name);
  if (node) {
    return node[1] === options.nodeVersion
      ? { remove: false, why: "the pinned Node" }
      : { remove: true, why: `not the pinned Node ${options.nodeVersion}` };
  }
  const build = BUILD.exec(name);
  if (build?.[1] !== undefined && builds.has(build[1])) {
    return options.current.some((dir) => path.basename(dir) === name)
      ? { remove: false, why: "this checkout's build" }
      : { remove: true, why: "a build this checkout no longer uses" };
  }
  return undefined;
}

/** Removes (or with `dryRun` only lists) the cache's unused folders; returns every folder judged. */
export function pruneCache(cacheDir: string, options: PruneOptions): CacheFolder[] {
  if (!fs.existsSync(cacheDir)) return [];
  // The names of the builds this checkout makes: a build of anything else is not for it to judge.
  const builds = new Set(options.current.map((dir) => BUILD.exec(path.basename(dir))?.[1] ?? ""));
  const folders: CacheFolder[] = [];
  const doomed: string[] = [];
  // Real folders only: a symbolic link is not followed, whatever it is named.
  const entries = fs.readdirSync(cacheDir, { withFileTypes: true }).filter((e) => e.isDirectory());
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(cacheDir, entry.name);
    if (entry.name === "kafka-addon") {
      for (const key of fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
        const name = `kafka-addon/${key.name}`;
        const bytes = folderBytes(path.join(dir, key.name));
        folders.push({ name, bytes, remove: false, why: "keyed by the Node ABI of whichever checkout built it" });
      }
      continue;
    }
    const judged = verdict(entry.name, options, builds);
    if (judged === undefined) continue;
    folders.push({ name: entry.name, bytes: folderBytes(dir), ...judged });
    if (judged.remove) doomed.push(dir);
  }
  const busy = inUse(doomed);
  for (const folder of folders.filter((f) => f.remove)) {
    const dir = path.join(cacheDir, folder.name);
    const pid = busy.get(dir);
    if (pid !== undefined) Object.assign(folder, { remove: false, why: `in use by pid ${pid}` });
    else if (!options.dryRun) fs.rmSync(dir, { recursive: true, force: true });
  }
  return folders;
}
