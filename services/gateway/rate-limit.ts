// Per-client rate limits at the gateway: a budget of reads and one of commands per client and
// window, counted in Redis so that every gateway replica draws on the same budget
// (rate-limiter-flexible's RateLimiterRedis). A gateway takes points in chunks of 2% of the budget
// (1 to 100) with one atomic increment and spends them locally, so Redis sees one call per chunk,
// not per request: a replica's unspent chunk makes a client's budget end at most that early
// elsewhere, never later. The client is the
// verified subject of a route that needed a token, else the client's address (see `clientAddress`).
// Over budget: a 429 problem with Retry-After and the RateLimit-Policy and RateLimit headers of the
// IETF draft (draft-ietf-httpapi-ratelimit-headers), which every limited answer carries.
//
// When Redis cannot be reached, each gateway counts in its own memory with the same budget (the
// insurance limiter): the limits hold per replica, rather than the API failing or going unlimited.
// Its Redis client queues nothing while disconnected, so a request never waits for Redis to return.
import type { Context } from "hono";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { createClient } from "redis";
import type { Log } from "#shared/platform/log.ts";
import { ProblemWithHeaders } from "#shared/transport/problem.ts";

export type Budget = "reads" | "commands";

export interface RateLimitSettings {
  redisUrl: string;
  keyPrefix: string;
  reads: number;
  commands: number;
  windowSeconds: number;
  /** Peers whose X-Forwarded-For is believed (exact addresses). */
  trustedProxies: readonly string[];
}

/** Which budget a request draws on: reads for GET and HEAD, commands for the rest. */
export const budgetOf = (method: string): Budget => (method === "GET" || method === "HEAD" ? "reads" : "commands");

/**
 * The address a request comes from: the peer's, or, when the peer is a trusted proxy, the last
 * address in X-Forwarded-For that is not one (a client can prepend anything, never append).
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: ReadonlySet<string>): string {
  if (!trusted.has(peer) || forwardedFor === undefined) return peer;
  const hops = forwardedFor
    .split(",")
    .map((hop) => hop.trim())
    .filter((hop) => hop !== "");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!trusted.has(hop)) return hop;
  }
  return hops[0] ?? peer;
}

export interface RateLimiter {
  /** Draws one request of `budget` for `client`; throws a 429 past the budget. */
  consume(c: Context, budget: Budget, client: string): Promise<void>;
  /** The request's address, by the trusted-proxy rule. */
  addressOf(c: Context): string;
  close(): Promise<void>;
}

/** The draft's headers: the policy (quota, window) and what is left of it (remaining, seconds to reset). */
function headers(budget: Budget, quota: number, window: number, remaining: number, resetMs: number) {
  const reset = Math.max(1, Math.ceil(resetMs / 1000));
  return {
    "RateLimit-Policy": `"${budget}";q=${quota};w=${window}`,
    RateLimit: `"${budget}";r=${Math.max(0, remaining)};t=${reset}`,
  };
}

const CONNECT_WAIT_MS = 1000;

/** Points a gateway takes from Redis at once: 2% of the budget, from 1 to 100. */
const chunkOf = (points: number) => Math.max(1, Math.min(100, Math.floor(points / 50)));

/** Bounds the leases held (one per client and budget with points left in this window). */
const MAX_LEASES = 100_000;

/**
 * Points this gateway took from a client's budget in Redis and has not spent yet, until the
 * window ends; `remainingElsewhere` is what Redis had left after the take (for the headers).
 */
interface Lease {
  available: number;
  remainingElsewhere: number;
  resetAt: number;
  /** Redis refused: the budget is spent until resetAt, for every replica (no need to ask again). */
  spent: boolean;
}

/**
 * Takes a chunk of points from the client's budget in one increment. Near the end of the budget,
 * Redis has fewer left than the chunk: the take is refused but counted, and this gateway keeps
 * what was left before it (others find the budget spent, which it is).
 */
async function take(limiter: RateLimiterRedis, points: number, client: string, now: number): Promise<Lease> {
  const chunk = chunkOf(points);
  try {
    const taken = await limiter.consume(client, chunk);
    return {
      available: chunk,
      remainingElsewhere: taken.remainingPoints,
      resetAt: now + taken.msBeforeNext,
      spent: false,
    };
  } catch (refusal) {
    if (!(refusal instanceof RateLimiterRes)) throw refusal;
    const left = Math.max(0, Math.min(chunk, points - (refusal.consumedPoints - chunk)));
    return { available: left, remainingElsewhere: 0, resetAt: now + refusal.msBeforeNext, spent: true };
  }
}

export async function connectRateLimiter(settings: RateLimitSettings, log: Log): Promise<RateLimiter> {
  const redis = createClient({
    url: settings.redisUrl,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000) },
  });
  let lastWarning = 0;
  redis.on("error", (error: unknown) => {
    // At most one line a minute while Redis is away: the insurance limiter counts meanwhile.
    if (Date.now() - lastWarning < 60_000) return;
    lastWarning = Date.now();
    log({ level: "warn", msg: "rate limits count in memory: Redis is unreachable", err: String(error) });
  });
  // Waited for a second at most: a gateway starts, and limits in memory, while Redis is down
  // (node-redis keeps trying to connect, by the reconnect strategy above).
  const connected = redis.connect().catch(() => undefined);
  await Promise.race([connected, new Promise((resolve) => setTimeout(resolve, CONNECT_WAIT_MS).unref())]);
  const limiters = Object.fromEntries(
    (["reads", "commands"] as const).map((budget) => {
      const points = budget === "reads" ? settings.reads : settings.commands;
      const keyPrefix = `${settings.keyPrefix}ratelimit:${budget}`;
      const limiter = new RateLimiterRedis({
        storeClient: redis,
        useRedisPackage: true,
        rejectIfRedisNotReady: true,
        keyPrefix,
        points,
        duration: settings.windowSeconds,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: settings.windowSeconds }),
      });
      return [budget, { limiter, points }];
    }),
  ) as Record<Budget, { limiter: RateLimiterRedis; points: number }>;
  const trusted = new Set(settings.trustedProxies);
  const leases = new Map<string, Lease>();

  return {
    addressOf(c) {
      const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
      const peer = incoming?.socket?.remoteAddress ?? "unknown";
      return clientAddress(peer, c.req.header("x-forwarded-for"), trusted);
    },
    async consume(c, budget, client) {
      const { limiter, points } = limiters[budget];
      const key = `${budget}:${client}`;
      const now = Date.now();
      let lease = leases.get(key);
      if (!lease || lease.resetAt <= now || (lease.available === 0 && !lease.spent)) {
        lease = await take(limiter, points, client, now);
        if (leases.size >= MAX_LEASES) leases.clear();
        leases.set(key, lease);
      }
      if (lease.available === 0) {
        const waitMs = lease.resetAt - now;
        const wait = Math.max(1, Math.ceil(waitMs / 1000));
        throw new ProblemWithHeaders(
          "too_many_requests",
          `the ${budget} budget of ${points} a window is spent; try again in ${wait} s`,
          { "retry-after": String(wait), ...headers(budget, points, settings.windowSeconds, 0, waitMs) },
        );
      }
      lease.available--;
      const remaining = lease.remainingElsewhere + lease.available;
      for (const [name, value] of Object.entries(
        headers(budget, points, settings.windowSeconds, remaining, lease.resetAt - now),
      )) {
        c.header(name, value);
      }
    },
    async close() {
      redis.destroy();
    },
  };
}
