// Build cache folders: named by version and by a hash of the files that define the build.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { buildCacheDir, filesHash } from "./build-cache.ts";

describe("build cache folders", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "build-cache-"));
  const main = path.join(dir, "main.go");
  const goMod = path.join(dir, "go.mod");
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("are named by version and an 8-hex hash of the build's files, whatever their order", () => {
    fs.writeFileSync(main, "package main\n");
    fs.writeFileSync(goMod, "module x\n");
    const folder = buildCacheDir("/cache", "ferretdb", "1.24.2", [main, goMod]);
    assert.match(folder, /^\/cache\/ferretdb-1\.24\.2-[0-9a-f]{8}$/);
    assert.equal(buildCacheDir("/cache", "ferretdb", "1.24.2", [goMod, main]), folder);
  });

  it("change when a file's content changes", () => {
    fs.writeFileSync(main, "package main\n");
    const before = filesHash([main, goMod]);
    fs.writeFileSync(main, "package main\n\nfunc main() {}\n");
    assert.notEqual(filesHash([main, goMod]), before);
  });

  it("change when content moves from one file to another", () => {
    fs.writeFileSync(main, "ab");
    fs.writeFileSync(goMod, "c");
    const before = filesHash([main, goMod]);
    fs.writeFileSync(main, "a");
    fs.writeFileSync(goMod, "bc");
    assert.notEqual(filesHash([main, goMod]), before);
  });
});
