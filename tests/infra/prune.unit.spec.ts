// `npm run infra -- prune` on a fake cache folder (CQRS_CACHE_DIR): it removes exactly the build
// folders this checkout no longer uses and the Node versions it does not pin; it keeps the current
// builds, the pinned Node, every kafka-addon/ folder, what it does not know, and a folder a live
// process runs from; it follows no symbolic link out of the cache; `--dry-run` removes nothing.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { NODE_VERSION } from "#infra/node-version.mjs";
import { cacheFolders } from "#infra/stack.ts";
import { loadConfig } from "#shared/platform/config.ts";

const root = path.resolve(import.meta.dirname, "../..");
const MiB = 2 ** 20;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "prune-"));
const cache = path.join(tmp, "cache");
const outside = path.join(tmp, "outside");

/** Unused: older builds of what this checkout builds, and a Node it does not pin. 1 MiB each. */
const UNUSED = ["ferretdb-1.24.1-0badf00d", "jaeger-1.75.0-12345678", "kafka-4.0.0-abcdef01", "node-24.0.0"];
/** An older build that a live process runs from (its working folder). */
const BUSY = "ferretdb-1.24.0-cafebabe";
/** Not for this checkout to judge: a build it does not make, a bootstrap's download in progress. */
const UNKNOWN = ["grafana-11.0.0-12345678", ".node-Ab12Cd"];
const ADDON = "kafka-addon/1.0.0-node-abi137-linux-x64-glibc-dynamic";

function make(folder: string, bytes = MiB): void {
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, "file"), Buffer.alloc(bytes));
}

/** Every folder and link directly in the cache, and in kafka-addon/. */
function listing(): string[] {
  const names = fs.readdirSync(cache);
  const addons = fs.readdirSync(path.join(cache, "kafka-addon")).map((key) => `kafka-addon/${key}`);
  return [...names, ...addons].sort();
}

function prune(...args: string[]) {
  const result = spawnSync(process.execPath, ["infra/cli.ts", "prune", ...args], {
    cwd: root,
    env: { ...process.env, CQRS_CACHE_DIR: cache, CQRS_STATE_DIR: path.join(tmp, "state") },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

describe("npm run infra -- prune", () => {
  const current = cacheFolders(loadConfig({ CQRS_CACHE_DIR: cache })).map((dir) => path.basename(dir));
  let busy: ChildProcess | undefined;
  let initial: string[] = [];

  before(async () => {
    for (const name of [...current, ...UNUSED, BUSY, ...UNKNOWN, ADDON, `node-${NODE_VERSION}`]) {
      make(path.join(cache, name));
    }
    make(outside);
    // A link named like an unused Node, to a folder outside the cache.
    fs.symlinkSync(outside, path.join(cache, "node-23.0.0"));
    busy = spawn(process.execPath, ["-e", "setInterval(() => {}, 1 << 30)"], {
      cwd: path.join(cache, BUSY),
      stdio: "ignore",
    });
    await once(busy, "spawn");
    initial = listing();
  });

  after(() => {
    busy?.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("knows this checkout's builds: FerretDB (patched and stock), Jaeger, Kafka", () => {
    assert.deepEqual(current.map((name) => name.replace(/-.*$/, "")).sort(), [
      "ferretdb",
      "ferretdb",
      "jaeger",
      "kafka",
    ]);
  });

  it("with --dry-run, says what it would remove and removes nothing", () => {
    const out = prune("--dry-run");
    for (const name of UNUSED)
      assert.match(out, new RegExp(`^would remove ${name.replaceAll(".", "\\.")} +1\\.0 MB  `, "m"));
    assert.match(out, /would free 4\.0 MB \(4 folders\)/);
    assert.deepEqual(listing(), initial);
  });

  it("removes exactly the unused folders, each with its size, and the total", () => {
    const out = prune();
    for (const name of UNUSED)
      assert.match(out, new RegExp(`^removed +${name.replaceAll(".", "\\.")} +1\\.0 MB  `, "m"));
    assert.match(out, new RegExp(`^kept +${BUSY} +1\\.0 MB  in use by pid ${busy?.pid}$`, "m"));
    assert.match(out, new RegExp(`^kept +${ADDON} `, "m"));
    assert.match(out, /freed 4\.0 MB \(4 folders\)/);
    assert.deepEqual(
      listing(),
      initial.filter((name) => !UNUSED.includes(name)),
    );
    // The link stays, and so does what it points to.
    assert.ok(fs.lstatSync(path.join(cache, "node-23.0.0")).isSymbolicLink());
    assert.equal(fs.statSync(path.join(outside, "file")).size, MiB);
  });
});
