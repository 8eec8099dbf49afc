// Cache-aside in Redis with version-guarded writes (docs/architecture.md, "Consistency model").
// Each entry is a hash {v, b}: `v` the newest version known, `b` the body at exactly that version.
// The projection raises `v` (dropping an older body); a fill writes only a version at least `v`. So
// a reader that read an old version before the projection applied a new one can never put the old
// one back. Redis being down makes every call a miss or a no-op: queries get slower, never fail. An
// invalidation Redis could not take is remembered and replayed when Redis is back (it may come back
// with its old data); until then this process bypasses the cache for that key.
import { SpanKind, trace } from "@opentelemetry/api";
import { createClient } from "redis";
import type { Log } from "../platform/log.ts";
import { appMetrics } from "../platform/telemetry/metrics.ts";
import { endWhenSettled } from "../platform/telemetry/span-errors.ts";

const FILL = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
local gen = tonumber(redis.call('HGET', KEYS[1], 'g') or '0')
local v = tonumber(ARGV[1])
local g = tonumber(ARGV[4])
if g < gen or v < cur then return 0 end
if v == cur and g == gen and redis.call('HEXISTS', KEYS[1], 'b') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'b', ARGV[2], 'g', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`;

const INVALIDATE = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if tonumber(ARGV[1]) <= cur then return 0 end
local gen = redis.call('HGET', KEYS[1], 'g') or '0'
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'g', gen)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

const SUPERSEDE = `
local gen = tonumber(redis.call('HGET', KEYS[1], 'g') or '0')
if tonumber(ARGV[1]) <= gen then return 0 end
redis.call('HDEL', KEYS[1], 'b')
redis.call('HSET', KEYS[1], 'g', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

/**
 * A Redis command, as a CLIENT span of the active one: our own span rather than the Redis
 * instrumentation's, which wraps every command in a context of its own and cost the reader about a
 * sixth of its CPU on cached reads (docs/architecture.md, "Naming conventions", spans).
 */
function commandSpans(url: string) {
  const tracer = trace.getTracer("cqrs-ts/cache");
  const server = new URL(url);
  const base = {
    "db.system.name": "redis",
    "server.address": server.hostname,
    "server.port": Number(server.port || 6379),
  };
  return <T>(operation: string, script: string | undefined, run: () => Promise<T>): Promise<T> => {
    const span = tracer.startSpan(operation, {
      kind: SpanKind.CLIENT,
      attributes: { ...base, "db.operation.name": operation, ...(script ? { "cqrs.cache.script": script } : {}) },
    });
    return endWhenSettled(span, run());
  };
}

/** How long a command that changes the cache may wait for Redis before it counts as missed. */
const WRITE_TIMEOUT_MS = 5000;

export interface CacheHit {
  version: number;
  body: string;
}

export interface VersionedCache {
  get(kind: string, id: string): Promise<CacheHit | undefined>;
  /**
   * Stores `body`, read from read-model generation `generation` at `version`, unless the cache
   * already knows a newer version or generation (a body of the same version from a newer
   * generation replaces one from an older generation).
   */
  fill(kind: string, id: string, version: number, body: string, generation: number): Promise<boolean>;
  /** Records that `version` exists, dropping any older body. */
  invalidate(kind: string, id: string, version: number): Promise<boolean>;
  /**
   * Records that generation `generation` of the read model holds a different document for `id`
   * (a rebuild switched to it): the body goes, and no fill from an older generation comes back.
   * Throws when Redis cannot take it.
   */
  supersede(kind: string, id: string, generation: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function connectCache(opts: {
  url: string;
  keyPrefix: string;
  ttlSeconds: number;
  log: Log;
}): Promise<VersionedCache> {
  // No command timeout on the client itself: node-redis's (5 s by default) is an AbortSignal.timeout
  // per command, whose timer fires and builds a DOMException 5 s later even for a command answered
  // long before, which cost the reader about a tenth of its CPU on cached reads. A lookup is bounded
  // by the gateway's deadline (GRPC_DEADLINE_MS) instead; the commands that change the cache keep a
  // timeout, so a Redis that stops answering turns an invalidation into a missed one (replayed
  // later) rather than stalling the projection.
  const client = createClient({
    url: opts.url,
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
    socket: { connectTimeout: 1000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 2000) },
  });
  const writes = client.withCommandOptions({ timeout: WRITE_TIMEOUT_MS });
  const command = commandSpans(opts.url);
  let lastError = 0;
  client.on("error", (error: unknown) => {
    // A reconnecting client reports every failed attempt; one line every 10 s is enough.
    if (Date.now() - lastError > 10_000) opts.log({ level: "warn", msg: "redis unavailable", err: error });
    lastError = Date.now();
  });
  const key = (kind: string, id: string) => `${opts.keyPrefix}${kind}:${id}`;

  /** Invalidations Redis did not take, by key: the newest version each must record. */
  const pending = new Map<string, number>();
  /** Past this many, the pending keys are forgotten and the whole prefix is dropped on reconnect. */
  const PENDING_MAX = 100_000;
  let overflowed = false;
  let lastMissed = 0;
  /**
   * Whether this reader has checked Redis since it last (re)connected: until then it neither reads
   * nor fills the cache, so nothing it serves comes from a Redis that may have lost invalidations.
   */
  let verified = false;
  /** Redis's run_id when last checked: another one means Redis restarted. */
  let knownRunId: string | undefined;
  let connection = 0;
  const bypass = (k: string) => !verified || overflowed || pending.has(k);

  const runInvalidate = (k: string, version: number) =>
    command("EVAL", "invalidate", () =>
      writes.eval(INVALIDATE, { keys: [k], arguments: [String(version), String(opts.ttlSeconds)] }),
    );

  async function dropPrefix(): Promise<void> {
    for await (const keys of writes.scanIterator({ MATCH: `${opts.keyPrefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await writes.del(keys);
    }
  }

  /**
   * After each (re)connect: a Redis that restarted may hold bodies older than invalidations other
   * readers could not make while it was down, which this reader does not know of: everything under
   * the prefix goes, and the cache refills from the read model. Then the invalidations this reader
   * missed are replayed. Retried every 500 ms while Redis answers but cannot take it yet (e.g.
   * while it loads its data).
   */
  async function verify(attempt: number): Promise<void> {
    while (attempt === connection && client.isReady) {
      try {
        const runId = /run_id:(\w+)/.exec(await writes.info("server"))?.[1];
        const restarted = knownRunId !== undefined && runId !== knownRunId;
        if (restarted || overflowed) await dropPrefix();
        if (restarted) opts.log({ msg: "redis restarted; dropped the cache's keys (it refills from the read model)" });
        overflowed = false;
        // Then the versions this reader could not record: an older fill racing the refill is refused.
        const missed = pending.size;
        for (const [k, version] of [...pending]) {
          await runInvalidate(k, version);
          if (pending.get(k) === version) pending.delete(k);
        }
        if (missed > 0) opts.log({ msg: "redis back; replayed the invalidations it missed", count: missed });
        knownRunId = runId;
        if (attempt === connection) verified = true;
        return;
      } catch (error) {
        if (Date.now() - lastError > 10_000) {
          opts.log({ level: "warn", msg: "could not check redis yet; retrying", err: error });
          lastError = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }
  let verification: Promise<void> = Promise.resolve();
  client.on("ready", () => {
    connection += 1;
    verified = false;
    verification = verify(connection);
  });
  await client
    .connect()
    .catch((error: unknown) => opts.log({ level: "warn", msg: "redis not reachable at start", err: error }));
  await verification;

  async function guarded<T>(fallback: T, op: () => Promise<T>): Promise<T> {
    if (!client.isReady) return fallback;
    try {
      return await op();
    } catch (error) {
      opts.log({ level: "warn", msg: "redis call failed", err: error });
      return fallback;
    }
  }

  return {
    get: async (kind, id) => {
      const hit = await guarded(undefined, async () => {
        if (bypass(key(kind, id))) return undefined;
        const entry = await command("HGETALL", undefined, () => client.hGetAll(key(kind, id)));
        if (entry.b === undefined || entry.v === undefined) return undefined;
        return { version: Number(entry.v), body: entry.b };
      });
      // On the query's span, so its trace shows whether the cache answered.
      trace.getActiveSpan()?.setAttribute("cache.hit", hit !== undefined);
      appMetrics().cacheRequests.add(1, { "cache.kind": kind, "cache.hit": hit !== undefined });
      return hit;
    },
    fill: (kind, id, version, body, generation) =>
      guarded(false, async () => {
        if (opts.ttlSeconds === 0 || bypass(key(kind, id))) return false;
        const result = await command("EVAL", "fill", () =>
          writes.eval(FILL, {
            keys: [key(kind, id)],
            arguments: [String(version), body, String(opts.ttlSeconds), String(generation)],
          }),
        );
        return result === 1;
      }),
    supersede: async (kind, id, generation) => {
      if (opts.ttlSeconds === 0) return false;
      if (!client.isReady) throw new Error("redis is not connected");
      const result = await command("EVAL", "supersede", () =>
        writes.eval(SUPERSEDE, {
          keys: [key(kind, id)],
          arguments: [String(generation), String(opts.ttlSeconds)],
        }),
      );
      return result === 1;
    },
    invalidate: async (kind, id, version) => {
      // With a TTL of 0 nothing is ever filled, so there is nothing to guard.
      if (opts.ttlSeconds === 0) return false;
      const k = key(kind, id);
      try {
        if (!client.isReady) throw new Error("redis is not connected");
        const applied = (await runInvalidate(k, version)) === 1;
        if ((pending.get(k) ?? 0) <= version) pending.delete(k);
        return applied;
      } catch (error) {
        if (!overflowed) {
          if (pending.size >= PENDING_MAX) {
            overflowed = true;
            pending.clear();
          } else if ((pending.get(k) ?? 0) < version) pending.set(k, version);
        }
        if (Date.now() - lastMissed > 10_000) {
          opts.log({
            level: "warn",
            msg: "redis missed invalidations; they are replayed when it is back",
            err: error,
          });
          lastMissed = Date.now();
        }
        return false;
      }
    },
    close: async () => {
      if (client.isOpen) client.destroy();
    },
  };
}
