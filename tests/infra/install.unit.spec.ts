// What the bootstrap installs: one pinned Node everywhere it is named, install scripts only for
// the packages that must run them, and the Kafka client's addon cached under a key that changes
// with everything the built files depend on.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { allowedScripts, restoreInstall, saveInstall } from "#infra/dependencies.mjs";
import { PATCHES, PatchError, patchText } from "#infra/dependency-patches.mjs";
import { isUnused } from "#infra/install-trim.mjs";
import { ADDON_FILES, addonKey, isIntermediate, KAFKA_PACKAGE } from "#infra/kafka-addon.mjs";
import { NODE_VERSION } from "#infra/node-version.mjs";

const root = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
const packageJson = JSON.parse(read("package.json")) as {
  engines: { node: string };
  allowScripts: Record<string, boolean>;
};
const lock = JSON.parse(read("package-lock.json")) as {
  packages: Record<string, { engines?: { node: string }; hasInstallScript?: boolean }>;
};
/** "node_modules/a/node_modules/@b/c" -> "@b/c". */
const packageName = (lockPath: string) =>
  lockPath.slice(lockPath.lastIndexOf("node_modules/") + "node_modules/".length);

describe("one pinned Node", () => {
  test("a specific 24.x with the security fixes of 24.22.0 or later", () => {
    const [major, minor] = NODE_VERSION.split(".").map(Number);
    assert.match(NODE_VERSION, /^\d+\.\d+\.\d+$/);
    assert.equal(major, 24);
    assert.ok((minor ?? 0) >= 22, `${NODE_VERSION} predates 24.22.0`);
  });

  test("package.json's engines, the lock file and the Dockerfile name the bootstrap's version", () => {
    assert.equal(packageJson.engines.node, NODE_VERSION);
    assert.equal(lock.packages[""]?.engines?.node, NODE_VERSION);
    const dockerfile = read("Dockerfile");
    assert.equal(/^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1], NODE_VERSION);
    const bases = [...dockerfile.matchAll(/^FROM node:(\S+)/gm)].map((m) => m[1]);
    assert.ok(bases.length >= 2, "the build and runtime stages start from node images");
    for (const base of bases)
      assert.match(base ?? "", /^\$\{NODE_VERSION\}-/, `FROM node:${base} is not the pinned version`);
  });
});

describe("install scripts", () => {
  test("every package with an install script is named in allowScripts, true or false", () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([lockPath]) => packageName(lockPath));
    assert.ok(withScripts.includes(KAFKA_PACKAGE));
    const unnamed = withScripts.filter((name) => !(name in packageJson.allowScripts));
    assert.deepEqual(unnamed, [], "packages whose install scripts nobody decided on");
  });

  test("allowScripts names installed packages only, and lets run just the ones that must", () => {
    const installed = new Set(Object.keys(lock.packages).map(packageName));
    for (const name of Object.keys(packageJson.allowScripts))
      assert.ok(installed.has(name), `${name} is not installed`);
    assert.deepEqual(allowedScripts(packageJson).sort(), [KAFKA_PACKAGE, "@bufbuild/buf", "esbuild"].sort());
    for (const name of ["protobufjs", "@scarf/scarf", "@biomejs/biome"])
      assert.equal(packageJson.allowScripts[name], false);
  });
});

describe("the Kafka client's addon", () => {
  const parts = {
    version: "1.10.1",
    abi: "137",
    platform: "linux",
    arch: "x64",
    libc: "glibc",
    linking: "dynamic",
  };

  test("its cache key changes with each thing the built files depend on", () => {
    const key = addonKey(parts);
    for (const [part, other] of Object.entries({
      version: "1.10.2",
      abi: "141",
      platform: "darwin",
      arch: "arm64",
      libc: "musl",
      linking: "bundled",
    })) {
      assert.notEqual(addonKey({ ...parts, [part]: other }), key, `${part} is not in the key`);
    }
  });

  test("pruning takes objects, archives and the source tree's own libraries, never sources or what loads", () => {
    const intermediate = [
      "deps/librdkafka/src/rdkafka.o",
      "deps/librdkafka/src/rdkafka.d",
      "deps/librdkafka/src/librdkafka.a",
      "deps/librdkafka/src/librdkafka-dbg.so.1",
      "deps/librdkafka/src/librdkafka.so",
      "build/deps/librdkafka-static.a",
    ];
    const kept = [
      ...ADDON_FILES,
      "deps/librdkafka/src/rdkafka.c",
      "deps/librdkafka/src/rdkafka.h",
      "deps/librdkafka/src-cpp/KafkaConsumerImpl.cpp",
      "deps/librdkafka/configure",
      "binding.gyp",
      "lib/kafkajs/_consumer.js",
    ];
    for (const file of intermediate) assert.equal(isIntermediate(file), true, file);
    for (const file of kept) assert.equal(isIntermediate(file), false, file);
  });
});

describe("the trimmed install", () => {
  const host = { platform: "linux", arch: "x64", libc: "gnu" };

  test("takes buf's protoc plugins, other platforms' addons and source maps, never what runs", () => {
    const unused = [
      "@bufbuild/buf-linux-x64/bin/protoc-gen-buf-lint",
      "@bufbuild/buf-linux-x64/bin/protoc-gen-buf-breaking",
      "dprint-node/dprint-node.darwin-arm64.node",
      "dprint-node/dprint-node.linux-x64-musl.node",
      "dprint-node/dprint-node.linux-arm64-gnu.node",
      "dprint-node/dprint-node.win32-x64-msvc.node",
      "drizzle-orm/index.d.ts.map",
      "chart.js/dist/chart.umd.js.map",
      "a/node_modules/@bufbuild/buf-linux-x64/bin/protoc-gen-buf-lint",
    ];
    const kept = [
      "@bufbuild/buf-linux-x64/bin/buf",
      "dprint-node/dprint-node.linux-x64-gnu.node",
      "dprint-node/index.js",
      "swagger-ui-dist/swagger-ui-bundle.js",
      "swagger-ui-dist/swagger-ui-bundle.js.map",
      "swagger-ui-dist/swagger-ui.css.map",
      `@confluentinc/kafka-javascript/${ADDON_FILES[0]}`,
      "some-package/data.map",
      "typescript/lib/lib.d.ts",
    ];
    for (const file of unused) assert.equal(isUnused(file, host), true, file);
    for (const file of kept) assert.equal(isUnused(file, host), false, file);
    assert.equal(isUnused("dprint-node/dprint-node.linux-x64-musl.node", { ...host, libc: "musl" }), false);
  });

  test("node_modules is at most half of the 706 MB it was before the trim", () => {
    const du = spawnSync("du", ["-sk", path.join(root, "node_modules")], { encoding: "utf8" });
    const mib = Number(du.stdout.split(/\s/)[0]) / 1024;
    assert.ok(mib > 100 && mib <= 353, `node_modules is ${mib.toFixed(0)} MB`);
  });
});

describe("the dependency patches", () => {
  test("every patched file is patched here, and the patch is applied once", () => {
    for (const patch of PATCHES) {
      for (const file of patch.files) {
        const text = read(path.join("node_modules", patch.name, file));
        assert.match(text, /cqrs-ts patch/, `${patch.name}/${file} is not patched`);
        assert.equal(patchText(text, patch.edits, file), text, "a second run changes nothing");
      }
    }
  });

  test("a text the patch does not find stops the install with one line", () => {
    const [patch] = PATCHES;
    assert.ok(patch);
    assert.throws(
      () => patchText("function unrelated() {}\n", patch.edits, "postgres/src/connection.js"),
      (error: unknown) =>
        error instanceof PatchError && /postgres\/src\/connection\.js: expected 1/.test(error.message),
    );
  });
});

describe("installs kept in the user cache", () => {
  const run = (cmd: string, args: string[]) => {
    const result = spawnSync(cmd, args, { stdio: "inherit" });
    if (result.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed`);
  };
  const say = () => {};
  /** A clone's node_modules as an install leaves it: a package and the install's stamp. */
  const installed = (dir: string, stamp: string) => {
    fs.mkdirSync(path.join(dir, "node_modules", "pkg"), { recursive: true });
    fs.writeFileSync(path.join(dir, "node_modules", "pkg", "index.js"), `export default "${stamp}";\n`);
    fs.writeFileSync(path.join(dir, "node_modules", ".cqrs-install-stamp"), stamp);
    return path.join(dir, "node_modules");
  };

  test("a clone with the same stamp gets a copy of the install; another stamp does not", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-install-"));
    try {
      const cacheDir = path.join(tmp, "cache");
      saveInstall({
        cacheDir,
        stamp: "a".repeat(64),
        nodeModules: installed(path.join(tmp, "one"), "a".repeat(64)),
        run,
        say,
      });
      const nodeModules = path.join(tmp, "two", "node_modules");
      fs.mkdirSync(path.join(nodeModules, "left-over"), { recursive: true });
      assert.equal(restoreInstall({ cacheDir, stamp: "b".repeat(64), nodeModules, run, say }), false);
      assert.ok(fs.existsSync(path.join(nodeModules, "left-over")), "nothing touched without a copy");
      assert.equal(restoreInstall({ cacheDir, stamp: "a".repeat(64), nodeModules, run, say }), true);
      assert.equal(fs.readFileSync(path.join(nodeModules, ".cqrs-install-stamp"), "utf8"), "a".repeat(64));
      assert.match(fs.readFileSync(path.join(nodeModules, "pkg", "index.js"), "utf8"), /aaaa/);
      assert.ok(!fs.existsSync(path.join(nodeModules, "left-over")), "the copy replaces what was there");
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test("the cache keeps the two newest installs, and no partial copy", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-install-"));
    try {
      const cacheDir = path.join(tmp, "cache");
      for (const [i, stamp] of ["c", "d", "e"].map((c) => c.repeat(64)).entries()) {
        saveInstall({ cacheDir, stamp, nodeModules: installed(path.join(tmp, String(i)), stamp), run, say });
        // Kept a minute apart, as clones are (the copies' times tell their age).
        const kept = new Date(Date.now() - (3 - i) * 60_000);
        if (i < 2) fs.utimesSync(path.join(cacheDir, "npm-install", stamp.slice(0, 16)), kept, kept);
      }
      assert.deepEqual(fs.readdirSync(path.join(cacheDir, "npm-install")).sort(), ["d".repeat(16), "e".repeat(16)]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
