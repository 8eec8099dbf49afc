// The gateway's rate limits on real Redis: two gateways (two limiters) draw on one budget per client,
// reads and commands apart, the 429 says how long to wait in Retry-After and the draft's RateLimit
// headers; with Redis gone each gateway goes on limiting from memory, without waiting on Redis.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { Hono } from "hono";
import { createClient } from "redis";
import { loadConfig } from "#shared/platform/config.ts";
import { errorHandler } from "#shared/transport/problem.ts";
import { eventually, freePort, runId } from "#tests/support/system.ts";
import { type Budget, clientAddress, connectRateLimiter, type RateLimiter } from "./rate-limit.ts";

const opened: RateLimiter[] = [];
after(async () => {
  for (const limiter of opened) await limiter.close();
});

async function limiter(redisUrl: string, keyPrefix: string, budgets: { reads?: number; commands?: number } = {}) {
  const made = await connectRateLimiter(
    {
      redisUrl,
      keyPrefix,
      reads: budgets.reads ?? 5,
      commands: budgets.commands ?? 3,
      windowSeconds: 60,
      trustedProxies: [],
    },
    () => {},
  );
  opened.push(made);
  return made;
}

/** A Hono app that draws one request of `budget` for `client` and answers 204, or the 429 problem. */
function app(limits: RateLimiter) {
  const hono = new Hono();
  hono.onError(errorHandler(() => {}));
  hono.get("/:budget/:client", async (c) => {
    await limits.consume(c, c.req.param("budget") as Budget, c.req.param("client"));
    return c.body(null, 204);
  });
  return (budget: Budget, client: string) => hono.request(`/${budget}/${client}`);
}

describe("shared budgets on the stack's Redis", () => {
  const redisUrl = loadConfig().redis.url;
  const prefix = `t_${runId}_ratelimit_${Date.now()}:`;

  test("two gateways draw on one budget per client; reads and commands apart; another client untouched", async () => {
    const first = app(await limiter(redisUrl, prefix));
    const second = app(await limiter(redisUrl, prefix));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await (i % 2 === 0 ? first : second)("commands", "ada")).status);
    assert.deepEqual(statuses, [204, 204, 204, 429], "three commands a window, counted across both");

    const ok = await first("commands", "grace");
    assert.equal(ok.status, 204, "another client has a budget of its own");
    assert.equal(ok.headers.get("ratelimit-policy"), '"commands";q=3;w=60');
    assert.match(ok.headers.get("ratelimit") ?? "", /^"commands";r=2;t=\d+$/);
    assert.equal((await second("reads", "ada")).status, 204, "ada's reads are another budget");

    const refused = await second("commands", "ada");
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get("content-type"), "application/problem+json");
    const wait = Number(refused.headers.get("retry-after"));
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`);
    assert.match(refused.headers.get("ratelimit") ?? "", /^"commands";r=0;t=\d+$/);
    const problem = (await refused.json()) as { status: number; detail: string };
    assert.equal(problem.status, 429);
    assert.match(problem.detail, /commands budget of 3/);
  });

  test("a gateway takes points in chunks of 2% of the budget; two together never give more than it", async () => {
    const chunked = `${prefix}chunks:`;
    const first = app(await limiter(redisUrl, chunked, { reads: 150 }));
    const second = app(await limiter(redisUrl, chunked, { reads: 150 }));
    for (let i = 0; i < 4; i++) assert.equal((await first("reads", "ada")).status, 204);
    const client = createClient({ url: redisUrl });
    await client.connect();
    try {
      const [key] = await client.keys(`${chunked}ratelimit:reads*`);
      assert.equal(await client.get(key ?? ""), "6", "two takes of 3 points (2% of 150) for four reads");
    } finally {
      client.destroy();
    }
    let allowed = 4;
    for (let i = 0; i < 200; i++) {
      if ((await (i % 2 === 0 ? second : first)("reads", "ada")).status === 204) allowed++;
    }
    assert.ok(allowed <= 150, `${allowed} reads allowed of a budget of 150`);
    assert.ok(allowed >= 150 - 2 * 3, `${allowed} reads: at most a chunk per gateway left unspent`);
  });

  test("the counters live in Redis under the key prefix, expiring with the window", async () => {
    const client = createClient({ url: redisUrl });
    await client.connect();
    try {
      const keys = await client.keys(`${prefix}ratelimit:*`);
      assert.ok(keys.length >= 3, keys.join());
      for (const key of keys) {
        const ttl = await client.pTTL(key);
        assert.ok(ttl > 0 && ttl <= 60_000, `${key} expires (${ttl} ms)`);
      }
      await client.del(keys);
    } finally {
      client.destroy();
    }
  });
});

describe("with Redis gone", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ratelimit-int-"));
  let server: ChildProcess | undefined;
  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("each gateway limits from memory with the same budget, and never waits on Redis", async () => {
    const port = await freePort();
    server = spawn("redis-server", ["--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--save", ""], {
      stdio: "ignore",
    });
    const url = `redis://127.0.0.1:${port}`;
    await eventually("the throwaway redis", async () => {
      const probe = createClient({ url });
      try {
        await probe.connect();
        return (await probe.ping()) === "PONG" ? true : undefined;
      } catch {
        return undefined;
      } finally {
        probe.destroy();
      }
    });
    const call = app(await limiter(url, "down:", { commands: 2 }));
    assert.equal((await call("commands", "ada")).status, 204, "counted in Redis");

    const exited = new Promise((resolve) => server?.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;

    const started = performance.now();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call("commands", "ada")).status);
    const took = performance.now() - started;
    assert.deepEqual(statuses, [204, 204, 429], "the same budget, counted in memory from here");
    assert.ok(took < 1000, `three answers in ${took.toFixed(0)} ms: none waited for Redis`);
    assert.equal((await call("commands", "grace")).status, 204, "per client in memory too");
  });
});

describe("the client's address", () => {
  const trusted = new Set(["10.0.0.1", "10.0.0.2"]);

  test("X-Forwarded-For counts only from a trusted proxy, and then its last untrusted hop", () => {
    assert.equal(clientAddress("203.0.113.9", "198.51.100.7", trusted), "203.0.113.9", "an untrusted peer's header");
    assert.equal(clientAddress("10.0.0.1", undefined, trusted), "10.0.0.1");
    assert.equal(clientAddress("10.0.0.1", "198.51.100.7", trusted), "198.51.100.7");
    assert.equal(
      clientAddress("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2", trusted),
      "198.51.100.7",
      "a client can prepend anything, never append",
    );
    assert.equal(clientAddress("10.0.0.1", "10.0.0.2", trusted), "10.0.0.2", "only proxies: the first");
  });
});
