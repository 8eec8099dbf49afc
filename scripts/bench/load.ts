// The load generator: autocannon (a well-kept HTTP load tool), driven from the script, on loopback
// only and bounded in time. One call measures one window after its warm-up and returns it in the
// results' shape; system and baselines get exactly the same requests and concurrency.
import { createRequire } from "node:module";
import { CATALOG_ADMIN } from "#functions/products/product-api.ts";
import { USER_ADMIN } from "#functions/users/user-api.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { mintToken } from "../local-token.ts";
import type { Latency, Window } from "./results.ts";

// autocannon ships no types: the part of its programmatic API used here.
export interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: CannonRequest, context: Record<string, unknown>) => CannonRequest;
}
interface CannonOptions {
  url: string;
  /** Sent with every request (each request's own headers added to them). */
  headers?: Record<string, string>;
  connections: number;
  duration: number;
  timeout: number;
  requests: CannonRequest[];
  overallRate?: number;
  maxOverallRequests?: number;
  sampleInt?: number;
}
interface CannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  requests: { total: number };
  statusCodeStats: Record<string, { count: number }>;
}
type Cannon = (options: CannonOptions) => PromiseLike<CannonResult> & { stop(): void };
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon;

export interface LoadSpec {
  /** The base URL of the system's gateway or of a baseline. */
  url: string;
  connections: number;
  /** The requests, in turn; `setupRequest` may vary each (a new sku, the next id). */
  requests: () => CannonRequest[];
  /** The status every answer should have (201 for a create). */
  expect: number;
  /** Requests per second over all connections (open loop), instead of as fast as answered. */
  rate?: number;
  /** A GET path that answers once the subject has worked off what a window left it (see `settle`). */
  probe?: string;
  /** Work a window leaves behind that belongs to its cost (a create's relay and projection): awaited after it. */
  drain?: () => Promise<void>;
}

/** Longest a request may take before it counts as a timeout (the gateway's deadline is 5 s). */
const REQUEST_TIMEOUT_S = 10;
/**
 * autocannon ends a run at its first sample tick after the duration: at its default of one tick a
 * second, a 0.3 s warm-up took a whole second. Ticks every 100 ms end a window within 0.1 s of its
 * length (the rate divides by the measured duration either way).
 */
const SAMPLE_INTERVAL_MS = 100;

let running: { stop(): void } | undefined;

/** Stops the window under way (Ctrl-C). */
export function stopLoad(): void {
  running?.stop();
}

/**
 * The bench's caller: every request carries its token, with every role (the public reads do not
 * look at it; the commands pay for verifying it, as a real client's do).
 */
let authorization: Promise<string> | undefined;
const benchAuthorization = () => {
  authorization ??= mintToken(loadConfig(), {
    subject: "bench",
    roles: [CATALOG_ADMIN, USER_ADMIN],
    ttlSeconds: 24 * 3600,
  }).then((token) => `Bearer ${token}`);
  return authorization;
};

/** The headers of the bench's caller, for requests made outside autocannon. */
export const benchHeaders = async (): Promise<Record<string, string>> => ({
  authorization: await benchAuthorization(),
});

async function fire(spec: LoadSpec, seconds: number): Promise<CannonResult> {
  const instance = autocannon({
    url: spec.url,
    headers: { authorization: await benchAuthorization() },
    connections: spec.connections,
    duration: seconds,
    timeout: REQUEST_TIMEOUT_S,
    requests: spec.requests(),
    sampleInt: SAMPLE_INTERVAL_MS,
    ...(spec.rate ? { overallRate: spec.rate } : {}),
  });
  running = instance;
  try {
    return await instance;
  } finally {
    running = undefined;
  }
}

const latencyOf = (result: CannonResult): Latency => ({
  p50: result.latency.p50,
  p90: result.latency.p90,
  p99: result.latency.p99,
  max: result.latency.max,
  mean: result.latency.mean,
});

/** Load for `seconds`, not counted: connections open, caches and JIT warm. */
export async function warm(spec: LoadSpec, seconds: number): Promise<void> {
  if (seconds > 0) await fire(spec, seconds);
}

/**
 * After a window the subject could not keep up with, its queues still hold requests the load
 * generator gave up on: wait (bounded) until one fresh request is answered, so the next window
 * does not pay for this one's backlog.
 */
export async function settle(spec: LoadSpec, ms = 30_000): Promise<void> {
  if (spec.probe === undefined) return;
  await fetch(`${spec.url}${spec.probe}`, { signal: AbortSignal.timeout(ms) })
    .then((response) => response.arrayBuffer())
    .catch(() => {});
}

/** One measured window of `seconds` (warm up first with `warm`). */
export async function measure(spec: LoadSpec, seconds: number): Promise<Window> {
  const result = await fire(spec, seconds);
  const unexpected: Record<string, number> = {};
  let expected = 0;
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) {
    if (Number(code) === spec.expect) expected += count;
    else unexpected[code] = count;
  }
  return {
    rate: result.duration > 0 ? expected / result.duration : 0,
    latency: latencyOf(result),
    count: expected,
    seconds: result.duration,
    errors: result.errors,
    unexpected,
    // A request that never answered within the bound, or no answer at all: the subject could not keep up.
    timedOut: result.timeouts > 0 || result.requests.total === 0,
  };
}

/** Whether a window had errors or answers of another status than expected. */
export const hadFailures = (window: Window): boolean => window.errors > 0 || Object.keys(window.unexpected).length > 0;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** The median of each figure over the rounds; errors and unexpected answers are summed, not medianed. */
export function medianWindow(rounds: Window[]): Window {
  const pick = (f: (w: Window) => number) => median(rounds.map(f));
  const unexpected: Record<string, number> = {};
  for (const round of rounds) {
    for (const [code, count] of Object.entries(round.unexpected)) unexpected[code] = (unexpected[code] ?? 0) + count;
  }
  return {
    rate: pick((w) => w.rate),
    latency: {
      p50: pick((w) => w.latency.p50),
      p90: pick((w) => w.latency.p90),
      p99: pick((w) => w.latency.p99),
      max: Math.max(0, ...rounds.map((w) => w.latency.max)),
      mean: pick((w) => w.latency.mean),
    },
    count: rounds.reduce((sum, w) => sum + w.count, 0),
    seconds: rounds.reduce((sum, w) => sum + w.seconds, 0),
    errors: rounds.reduce((sum, w) => sum + w.errors, 0),
    unexpected,
    timedOut: rounds.some((w) => w.timedOut),
  };
}

/** A window from single measurements (a lag or a round trip per event), with its rate. */
export function windowOf(samplesMs: number[], seconds: number, timedOut = false): Window {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  return {
    rate: seconds > 0 ? sorted.length / seconds : 0,
    latency: {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: sorted.at(-1) ?? 0,
      mean: sorted.length > 0 ? sorted.reduce((sum, x) => sum + x, 0) / sorted.length : 0,
    },
    count: sorted.length,
    seconds,
    errors: 0,
    unexpected: {},
    timedOut,
  };
}

/** GETs every path once, a few at a time (filling a cache before a cached-read window). */
export async function getEach(base: string, paths: readonly string[], inFlight = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < paths.length; i = next++) {
      await fetch(`${base}${paths[i]}`, { headers: await benchHeaders() }).then((response) => response.arrayBuffer());
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}
