// `npm ci` the way the bootstrap runs it: against the lock file, with install scripts only for the
// packages `allowScripts` in package.json lets run (npm 11 reads the same field, so far only to
// warn), the Kafka client's native addon from the user cache when it was built before, the fixes
// not yet released applied (dependency-patches.mjs), the files nothing here loads removed
// (install-trim.mjs), and the size of what is left. Skipped when package.json, the lock file and Node are as last time;
// copied from the user cache when another clone installed the same (restoreInstall).
//
// Plain JavaScript: it runs on whatever Node the machine has, like the bootstrap that calls it.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { applyDependencyPatches } from "./dependency-patches.mjs";
import { trimInstall } from "./install-trim.mjs";
import { ensureKafkaAddon, KAFKA_PACKAGE } from "./kafka-addon.mjs";
import { NODE_VERSION } from "./node-version.mjs";

/** The packages `allowScripts` in package.json lets run their install scripts (npm 11 reads the same field). */
export function allowedScripts(packageJson) {
  return Object.entries(packageJson.allowScripts ?? {})
    .filter(([, allowed]) => allowed === true)
    .map(([name]) => name);
}

function directoryMiB(dir) {
  const result = spawnSync("du", ["-sk", dir], { encoding: "utf8" });
  return result.status === 0 ? Math.round(Number(result.stdout.split(/\s/)[0]) / 1024) : undefined;
}

/**
 * `run(cmd, args, options)` runs a command or throws; `say` prints a progress line; `env` is the
 * project's environment (Node 24 first on PATH).
 */
export function ensureDependencies({ root, cacheDir, nodeBin, env, run, say }) {
  const lockFile = path.join(root, "package-lock.json");
  const stampFile = path.join(root, "node_modules", ".cqrs-install-stamp");
  const hash = crypto.createHash("sha256");
  hash.update(NODE_VERSION);
  hash.update(fs.readFileSync(path.join(root, "package.json")));
  if (fs.existsSync(lockFile)) hash.update(fs.readFileSync(lockFile));
  // What is done to node_modules after the install: a change re-installs.
  for (const step of ["dependency-patches.mjs", "install-trim.mjs"]) {
    hash.update(fs.readFileSync(path.join(root, "infra", step)));
  }
  const stamp = hash.digest("hex");
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, "utf8") === stamp) return;
  const nodeModules = path.join(root, "node_modules");
  if (restoreInstall({ cacheDir, stamp, nodeModules, run, say })) return;
  const command = fs.existsSync(lockFile) ? "ci" : "install";
  const allowed = allowedScripts(JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")));
  say(`installing npm dependencies (npm ${command}; install scripts only for allowScripts: ${allowed.join(", ")})`);
  const started = Date.now();
  const npmArgs = ["--no-audit", "--no-fund", "--loglevel=error"];
  run("npm", [command, "--ignore-scripts", ...npmArgs], { cwd: root, env });
  const others = allowed.filter((name) => name !== KAFKA_PACKAGE);
  if (others.length > 0) run("npm", ["rebuild", ...others, ...npmArgs], { cwd: root, env });
  if (allowed.includes(KAFKA_PACKAGE)) {
    ensureKafkaAddon({ root, cacheDir, nodeBin, env, run, say });
  }
  say(`patched dependencies (infra/dependency-patches.mjs): ${applyDependencyPatches(root).join(", ")}`);
  const trimmed = trimInstall(path.join(root, "node_modules"));
  say(`removed ${(trimmed / 2 ** 20).toFixed(0)} MB that nothing here loads (infra/install-trim.mjs says what)`);
  fs.writeFileSync(stampFile, stamp);
  const size = directoryMiB(path.join(root, "node_modules"));
  say(
    `dependencies installed in ${((Date.now() - started) / 1000).toFixed(0)} s${size === undefined ? "" : `; node_modules is ${size} MB`}`,
  );
  try {
    saveInstall({ cacheDir, stamp, nodeModules, run, say });
  } catch (error) {
    // Only the next clone's time is at stake.
    say(`could not keep a copy of the install in the user cache: ${error instanceof Error ? error.message : error}`);
  }
}

/** How many installs the user cache keeps (the newest): a branch switched back to reuses its own. */
const KEPT_INSTALLS = 2;

/** The user cache's copy of the install with this stamp (every input of the install hashed). */
const savedInstall = (cacheDir, stamp) => path.join(cacheDir, "npm-install", stamp.slice(0, 16));

/**
 * Another clone (or this one, before) installed exactly these inputs: its node_modules, kept in the
 * user cache with its stamp inside, is copied in place of `npm ci` (seconds instead of a minute).
 * The copy is what `npm ci`, the addon, the patches and the trim made for the same package.json,
 * lock file, Node and install steps: the stamp hashes all of them.
 */
export function restoreInstall({ cacheDir, stamp, nodeModules, run, say }) {
  const saved = savedInstall(cacheDir, stamp);
  const savedStamp = path.join(saved, ".cqrs-install-stamp");
  if (!fs.existsSync(savedStamp) || fs.readFileSync(savedStamp, "utf8") !== stamp) return false;
  const started = Date.now();
  say(`copying the npm dependencies installed before for the same lock file, Node and install steps (${saved})`);
  fs.rmSync(nodeModules, { recursive: true, force: true });
  run("cp", ["-a", saved, nodeModules], {});
  fs.utimesSync(saved, new Date(), new Date());
  say(`dependencies copied in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return true;
}

/** Keeps a copy of a fresh install in the user cache for the next clone; the oldest copies go. */
export function saveInstall({ cacheDir, stamp, nodeModules, run, say }) {
  const saved = savedInstall(cacheDir, stamp);
  const parent = path.dirname(saved);
  fs.mkdirSync(parent, { recursive: true });
  // Copied aside, then renamed: a copy cut short is never taken for a whole one.
  const partial = `${saved}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  run("cp", ["-a", nodeModules, partial], {});
  fs.rmSync(saved, { recursive: true, force: true });
  fs.renameSync(partial, saved);
  // cp -a kept node_modules' own times: the copy's age is when it was kept (restoreInstall renews it).
  fs.utimesSync(saved, new Date(), new Date());
  const others = fs
    .readdirSync(parent)
    .map((name) => path.join(parent, name))
    .filter((dir) => dir !== saved)
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  for (const dir of others.slice(KEPT_INSTALLS - 1)) fs.rmSync(dir, { recursive: true, force: true });
  say(`kept a copy of the install for the next clone (${saved})`);
}
