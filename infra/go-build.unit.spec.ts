// Go build cache keys: a module folder's patch files are part of a patched build's key, not of the
// stock build's.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { buildCacheDir } from "./build-cache.ts";
import { goBinary } from "./go-build.ts";
import type { ServerContext } from "./server.ts";

describe("goBinary", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "go-build-"));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ctx = { config: { cacheDir: "/cache" } } as ServerContext;
  const sources = ["go.mod", "go.sum", "main.go"].map((file) => path.join(dir, file));
  for (const file of sources) fs.writeFileSync(file, `${path.basename(file)}\n`);
  const patch = path.join(dir, "fix.patch");

  it("a stock build is keyed by the module's sources alone, as before the folder had patches", () => {
    fs.writeFileSync(patch, "one\n");
    const stock = goBinary(ctx, "x", "1.0.0", dir, { stock: true });
    assert.equal(stock, path.join(buildCacheDir("/cache", "x", "1.0.0", sources), "x"));
    fs.writeFileSync(patch, "two\n");
    assert.equal(goBinary(ctx, "x", "1.0.0", dir, { stock: true }), stock);
  });

  it("a patched build is keyed by its patches too", () => {
    fs.writeFileSync(patch, "one\n");
    const one = goBinary(ctx, "x", "1.0.0", dir);
    assert.notEqual(one, goBinary(ctx, "x", "1.0.0", dir, { stock: true }));
    fs.writeFileSync(patch, "two\n");
    assert.notEqual(goBinary(ctx, "x", "1.0.0", dir), one);
  });
});
