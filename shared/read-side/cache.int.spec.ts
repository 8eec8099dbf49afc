// The version-guarded cache when Redis goes away and comes back with its old data: reads and fills
// never fail (they miss), an invalidation Redis missed is replayed once it is back, and meanwhile
// the key is not served from the cache, so an older body can never be read after a newer version
// was projected. Runs on a throwaway redis-server of its own (never the shared one).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { createClient } from "redis";
import { eventually, freePort } from "#tests/support/system.ts";
import { connectCache, type VersionedCache } from "./cache.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cache-int-"));
let port = 0;
let server: ChildProcess | undefined;
let cache: VersionedCache | undefined;
const logs: Record<string, unknown>[] = [];

function startRedis(): ChildProcess {
  // Append-only, so a restart brings the old entries back, as a blip that keeps its data would.
  const child = spawn(
    "redis-server",
    ["--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--appendonly", "yes", "--save", ""],
    { stdio: "ignore" },
  );
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

const rawClient = () => createClient({ url: `redis://127.0.0.1:${port}` });

async function raw<T>(work: (client: ReturnType<typeof rawClient>) => Promise<T>): Promise<T> {
  const client = rawClient();
  await client.connect();
  try {
    return await work(client);
  } finally {
    client.destroy();
  }
}

before(async () => {
  port = await freePort();
  server = startRedis();
  await eventually("the throwaway redis", () => raw(async (c) => c.ping()).catch(() => undefined));
  cache = await connectCache({
    url: `redis://127.0.0.1:${port}`,
    keyPrefix: "t:",
    ttlSeconds: 60,
    log: (e) => logs.push(e),
  });
});

after(async () => {
  await cache?.close();
  if (server && server.exitCode === null) await stopRedis(server);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("an invalidation missed while redis was down is replayed, and the old body is never served", async () => {
  assert.ok(cache && server);
  assert.equal(await cache.fill("product", "p1", 1, '{"v":1}', 1), true);
  assert.deepEqual(await cache.get("product", "p1"), { version: 1, body: '{"v":1}' });

  await stopRedis(server);
  // Down: the projection applies v2; the cache cannot take the invalidation, reads and fills miss.
  assert.equal(await cache.invalidate("product", "p1", 2), false);
  assert.equal(await cache.get("product", "p1"), undefined);
  assert.equal(await cache.fill("product", "p1", 1, '{"v":1}', 1), false);
  assert.ok(logs.some((e) => String(e.msg).includes("missed invalidations")));

  // Back, with its old data (append-only file): v1's body is in Redis again until the replay lands,
  // which the cache's reconnect backoff makes come a little later.
  server = startRedis();
  const back = await eventually("redis back", () =>
    raw(async (c) => (await c.hGet("t:product:p1", "v")) ?? "none").catch(() => undefined),
  );
  assert.ok(back === "1" || back === "2", `redis came back with version ${back}`);
  // Whatever the moment, this process never serves the v1 body again.
  await eventually("the missed invalidation to be replayed", async () => {
    const hit = await cache?.get("product", "p1");
    assert.notEqual(hit?.version, 1, "the older body was served");
    const v = await raw(async (c) => c.hGet("t:product:p1", "v")).catch(() => undefined);
    const replayed = logs.some((e) => e.msg === "redis back; replayed the invalidations it missed");
    return v === "2" && replayed ? true : undefined;
  });
  assert.ok(
    logs.some((e) => String(e.msg).startsWith("redis restarted; dropped the cache's keys")),
    "a restarted Redis (another run_id) has the prefix dropped: other readers' missed invalidations are unknown here",
  );
  assert.equal(await cache.get("product", "p1"), undefined, "v2 is known, its body is not cached yet");
  assert.equal(await cache.fill("product", "p1", 1, '{"v":1}', 1), false, "an older fill is refused");
  assert.equal(await cache.fill("product", "p1", 2, '{"v":2}', 1), true);
  assert.deepEqual(await cache.get("product", "p1"), { version: 2, body: '{"v":2}' });
});

test("a rebuild's switch: a superseded body goes, an older epoch cannot fill it back, the new epoch can at the same version", async () => {
  assert.ok(cache);
  assert.equal(await cache.fill("product", "p9", 3, '{"name":"wrong"}', 4), true);
  assert.equal(await cache.fill("product", "p9", 3, '{"name":"right"}', 4), false, "the same version and epoch: kept");
  // The switch to the next epoch supersedes the entry: its body goes, its version stays.
  assert.equal(await cache.supersede("product", "p9", 5), true);
  assert.equal(await cache.supersede("product", "p9", 5), false, "once is enough");
  assert.equal(await cache.get("product", "p9"), undefined);
  assert.equal(
    await cache.fill("product", "p9", 3, '{"name":"wrong"}', 4),
    false,
    "a reader not switched yet is refused",
  );
  assert.equal(await cache.fill("product", "p9", 2, '{"name":"older"}', 5), false, "an older version is refused");
  assert.equal(await cache.fill("product", "p9", 3, '{"name":"right"}', 5), true);
  assert.deepEqual(await cache.get("product", "p9"), { version: 3, body: '{"name":"right"}' });
  // A later event's invalidation keeps the epoch: the not-switched reader still cannot fill.
  assert.equal(await cache.invalidate("product", "p9", 4), true);
  assert.equal(await cache.fill("product", "p9", 4, '{"name":"old reader"}', 4), false);
  assert.equal(await cache.fill("product", "p9", 4, '{"name":"v4"}', 5), true);
});
