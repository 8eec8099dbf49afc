// `npm ci` the way the bootstrap runs it: against the lock file, with install scripts only for the
// packages `allowScripts` in package.json lets run (npm 11 reads the same field, so far only to
// warn), the Kafka client's native addon from the user cache when it was built before, the fixes
// not yet released applied (dependency-patches.mjs), the files nothing here loads removed
// (install-trim.mjs), and the size of what is left. Skipped when package.json, the lock file and Node are as last time.
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
}
