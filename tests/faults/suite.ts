// The fault suite: under a steady stream of commands and reads, apply each fault in turn, restore
// it, and wait until the system has converged (no unsent outbox row, the read model equal to
// PostgreSQL); then check that nothing was lost, nothing diverged, the projections kept each
// aggregate's order, no client saw an aggregate go back in time, and nothing answered 500.
// `npm run test:faults` runs it in full; npm test runs the short variant (tests/faults/faults.e2e.spec.ts).
import { MongoClient } from "mongodb";
import postgres from "postgres";
import { topicFor } from "#shared/platform/events.ts";
import { adminHeaders } from "../support/auth.ts";
import { type Clients, newWindow, type Recorder, startClients, type WindowStats } from "./clients.ts";
import {
  type FaultStack,
  SERVICE_NAMES,
  type ServerName,
  type ServiceInstance,
  startFaultStack,
} from "./fault-stack.ts";
import { divergence, lostEffects, outOfOrder, staleReads, unpublishedEvents, unsentOutboxRows } from "./verify.ts";

export interface SuiteOptions {
  /** How long each fault lasts before it is restored. */
  holdMs: number;
  /** Concurrent clients. */
  clients: number;
  /** Longest wait for convergence after a fault. */
  convergeMs: number;
  /** Only the faults whose name contains one of these (all when empty). */
  only?: string[];
  say: (line: string) => void;
}

export interface FaultRow {
  fault: string;
  sent: number;
  acknowledged: number;
  lost: number;
  divergent: number;
  convergeSeconds: number | undefined;
  statuses: Map<string, number>;
}

export interface SuiteResult {
  rows: FaultRow[];
  /** Everything that broke a promise, one line each: the suite passes when it is empty. */
  failures: string[];
  seconds: number;
}

interface Context {
  stack: FaultStack;
  clients: Clients;
  recorder: Recorder;
  failures: string[];
  say: (line: string) => void;
}

interface Fault {
  name: string;
  apply(ctx: Context): Promise<void>;
  /** Checks while the fault holds (e.g. cached reads still answer). */
  during?(ctx: Context): Promise<void>;
  restore(ctx: Context): Promise<void>;
}

async function relayHolder(stack: FaultStack): Promise<ServiceInstance | undefined> {
  for (const name of ["writer-1", "writer-2"] as const) {
    const text = await fetch(`${stack.healthUrl(name)}/metrics`).then(
      (response) => response.text(),
      () => "",
    );
    if (/^cqrs_outbox_relay_lease(\{[^}]*\})? 1$/m.test(text)) return name;
  }
  return undefined;
}

const killServer = (server: ServerName, during?: Fault["during"]): Fault => ({
  name: `kill ${server}`,
  apply: async ({ stack }) => stack.kill(server),
  during,
  restore: ({ stack }) => stack.restart(server),
});

const freezeServer = (server: ServerName, during?: Fault["during"]): Fault => ({
  name: `freeze ${server}`,
  apply: async ({ stack }) => stack.freeze(server),
  during,
  restore: async ({ stack }) => stack.thaw(server),
});

function killService(pick: (stack: FaultStack) => Promise<ServiceInstance>, name: string): Fault {
  let victim: ServiceInstance = "gateway";
  return {
    name,
    apply: async ({ stack, say }) => {
      victim = await pick(stack);
      say(`  ${name}: ${victim}`);
      await stack.killService(victim);
    },
    restore: ({ stack }) => stack.startService(victim),
  };
}

/** Waits until the crash point armed on `victim` killed it. */
async function crashed(stack: FaultStack, victim: ServiceInstance, point: string): Promise<void> {
  const exited = stack.service(victim)?.exited;
  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 60_000).unref());
  const outcome = await Promise.race([exited, timeout]);
  if (outcome === "timeout") throw new Error(`${victim} never reached crash point ${point}`);
  if (outcome?.signal !== "SIGKILL") throw new Error(`${victim} exited ${JSON.stringify(outcome)} before ${point}`);
}

/** Restarts `instance` with a crash point armed, waits until the point killed it, starts it plainly. */
function crashAt(point: string, pick: (stack: FaultStack) => Promise<ServiceInstance>): Fault {
  let victim: ServiceInstance = "gateway";
  return {
    name: `crash point ${point}`,
    apply: async ({ stack, clients, say }) => {
      victim = await pick(stack);
      say(`  crash point ${point} armed on ${victim}`);
      await stack.startService(victim, { CQRS_CRASH_AT: point });
      await crashed(stack, victim, point);
      // Nothing more until it is back and has caught up: a later command on the same aggregates
      // would hide what the crash left behind (e.g. a cache entry older than the read model).
      await clients.pause();
    },
    restore: ({ stack }) => stack.startService(victim),
  };
}

/**
 * The relay's crash point: armed on the writer that does not relay, which then takes the lease over
 * from the relay's writer, killed, and dies after its first publish, before marking the rows sent.
 */
function relayCrash(): Fault {
  const point = "relay-after-publish";
  let holder: ServiceInstance = "writer-1";
  let armed: ServiceInstance = "writer-2";
  return {
    name: `crash point ${point}`,
    apply: async ({ stack, say }) => {
      holder = (await relayHolder(stack)) ?? "writer-1";
      armed = holder === "writer-1" ? "writer-2" : "writer-1";
      say(`  crash point ${point} armed on ${armed}; killing the relay's writer ${holder}`);
      await stack.startService(armed, { CQRS_CRASH_AT: point });
      await stack.killService(holder);
      await crashed(stack, armed, point);
    },
    restore: async ({ stack }) => {
      await Promise.all([stack.startService(holder), stack.startService(armed)]);
    },
  };
}

/** Ids read twice with the clients paused, so cached at their current version, before a read-side fault. */
const cached: { kind: string; id: string }[] = [];

/**
 * A fault on the MongoDB-wire server, applied while the clients wait: first a few aggregates are
 * read twice at the version the ledger holds (X-Min-Version), so that the projection has applied
 * their last event and the cache holds them at it. Nothing can invalidate them before the fault: an
 * invalidation follows a read-model write, and none is left for them. (Read without the version, an
 * aggregate whose last event was still on its way was cached, then invalidated when the event was
 * applied just before the fault, and its read during the fault was a miss: a 503.)
 */
function readSideFault(fault: Fault): Fault {
  return {
    ...fault,
    async apply(ctx) {
      await ctx.clients.pause();
      cached.length = 0;
      const live = [...ctx.clients.ledger.values()].filter((entry) => !entry.deleted && !entry.uncertain).slice(-10);
      for (const { kind, id, version } of live) {
        const path = `${ctx.stack.gatewayUrl}/api/v1/${kind}s/${id}`;
        // As a caller with every role: users are not public.
        const headers = { ...(await adminHeaders()), "X-Min-Version": String(version) };
        const first = await fetch(path, { headers });
        const second = await fetch(path, { headers });
        if (first.status === 200 && second.status === 200) cached.push({ kind, id });
      }
      await fault.apply(ctx);
      ctx.clients.resume();
    },
  };
}

/** Cached reads answer while the MongoDB-wire server is down. */
async function cachedReadsAnswer({ stack, failures }: Context): Promise<void> {
  if (cached.length === 0) failures.push("no aggregate was cached before the read-side fault");
  for (const { kind, id } of cached) {
    const response = await fetch(`${stack.gatewayUrl}/api/v1/${kind}s/${id}`, { headers: await adminHeaders() }).catch(
      () => undefined,
    );
    if (response?.status !== 200) {
      failures.push(`a cached read of ${kind} ${id} answered ${response?.status ?? "nothing"} with FerretDB down`);
    }
  }
}

/** The writers stay ready while only Kafka is down: commands still work. */
async function writersReady({ stack, failures }: Context): Promise<void> {
  for (const name of ["writer-1", "writer-2"] as const) {
    const response = await fetch(`${stack.healthUrl(name)}/readyz`).catch(() => undefined);
    if (response?.status !== 200) failures.push(`${name}'s /readyz answered ${response?.status} with only Kafka down`);
  }
}

export const FAULTS: Fault[] = [
  killService(async (stack) => (await relayHolder(stack)) ?? "writer-1", "kill the relay's writer"),
  killService(
    async (stack) => ((await relayHolder(stack)) === "writer-1" ? "writer-2" : "writer-1"),
    "kill the other writer",
  ),
  killService(async () => "reader-1", "kill a reader"),
  killService(async () => "gateway", "kill the gateway"),
  killServer("kafka", writersReady),
  killServer("postgres"),
  killServer("postgres-read"),
  readSideFault(killServer("ferretdb", cachedReadsAnswer)),
  killServer("redis"),
  freezeServer("kafka", writersReady),
  freezeServer("postgres"),
  readSideFault(freezeServer("ferretdb", cachedReadsAnswer)),
  relayCrash(),
  crashAt("projection-after-write", async () => "reader-1"),
  crashAt("projection-before-commit", async () => "reader-2"),
  crashAt("writer-before-reply", async () => "writer-2"),
];

/** Waits until every service is ready, the outbox is drained and the read model equals PostgreSQL. */
async function converge(stack: FaultStack, sql: postgres.Sql, mongo: MongoClient, ms: number) {
  const deadline = Date.now() + ms;
  let last: string[] = [];
  for (;;) {
    const ready = await Promise.all(
      (["writer-1", "writer-2", "reader-1", "reader-2", "gateway"] as const).map((name) =>
        fetch(`${stack.healthUrl(name)}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
          (response) => response.ok,
          () => false,
        ),
      ),
    );
    try {
      const unsent = await unsentOutboxRows(sql);
      last = ready.every(Boolean) ? [] : ["a service is not ready"];
      if (unsent > 0) last.push(`${unsent} outbox rows unsent`);
      if (last.length === 0) last = await divergence(sql, mongo, stack.database);
    } catch (error) {
      last = [`cannot check yet: ${error instanceof Error ? error.message : String(error)}`];
    }
    if (last.length === 0) return { converged: true, differences: [] };
    if (Date.now() > deadline) return { converged: false, differences: last };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function runFaultSuite(options: SuiteOptions): Promise<SuiteResult> {
  const started = Date.now();
  const { say } = options;
  const stack = await startFaultStack(say);
  const sql = postgres(stack.postgresUrl, { max: 2, onnotice: () => {} });
  const mongo = new MongoClient(stack.mongoUrl, { serverSelectionTimeoutMS: 2000 });
  const recorder: Recorder = { window: newWindow("warm-up"), violations: [] };
  const failures: string[] = [];
  const rows: FaultRow[] = [];
  const clients = startClients({
    gatewayUrl: stack.gatewayUrl,
    count: options.clients,
    runId: String(Date.now()),
    recorder,
  });
  const ctx: Context = { stack, clients, recorder, failures, say };
  const faults = FAULTS.filter((f) => !options.only?.length || options.only.some((o) => f.name.includes(o)));
  try {
    await settle(stack, clients, sql, mongo, options, failures, "warm-up");
    for (const fault of faults) {
      const window: WindowStats = newWindow(fault.name);
      recorder.window = window;
      say(`${fault.name}: applying for ${options.holdMs / 1000} s`);
      let convergeSeconds: number | undefined;
      let divergent = 0;
      try {
        await fault.apply(ctx);
        const held = new Promise((resolve) => setTimeout(resolve, options.holdMs));
        await fault.during?.(ctx);
        await held;
        await fault.restore(ctx);
        const restored = Date.now();
        const result = await settle(stack, clients, sql, mongo, options, failures, fault.name);
        divergent = result.converged ? 0 : result.differences.length;
        convergeSeconds = result.converged ? (Date.now() - restored) / 1000 : undefined;
      } catch (error) {
        failures.push(`${fault.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
      say(
        `${fault.name}: ${convergeSeconds === undefined ? "did not converge" : `converged ${convergeSeconds.toFixed(1)} s after restoring`}`,
      );
      rows.push({
        fault: fault.name,
        sent: window.sent,
        acknowledged: window.acknowledged,
        statuses: window.statuses,
        lost: 0,
        divergent,
        convergeSeconds,
      });
      if (convergeSeconds === undefined) {
        failures.push(`the suite stopped after "${fault.name}": the faults after it would only pile on`);
        break;
      }
    }
    await clients.stop();
    const final = await converge(stack, sql, mongo, options.convergeMs);
    failures.push(...final.differences.map((d) => `after the last fault: ${d}`));
    if (final.converged) failures.push(...(await clients.resolveUncertain()).map((line) => `at the end: ${line}`));
    const lost = await lostEffects(sql, clients.ledger);
    failures.push(...[...lost.values()].map((line) => `lost: ${line}`));
    const topics = ["product", "user"].map((aggregate) => topicFor("", aggregate));
    const unpublished = await unpublishedEvents(sql, stack.config.kafka.brokers, topics);
    failures.push(...unpublished.map((line) => `lost: ${line}`));
    const projected = [...stack.serviceLines("reader-1"), ...stack.serviceLines("reader-2")];
    failures.push(...outOfOrder(projected).map((line) => `out of order: ${line}`));
    failures.push(
      ...(await staleReads(stack.gatewayUrl, mongo, stack.database, clients.ledger)).map((l) => `stale read: ${l}`),
    );
    failures.push(...recorder.violations);
    // What the services logged as errors explains a 500: it goes with the failures, a few of each.
    if (failures.length > 0) {
      for (const name of SERVICE_NAMES) {
        const errors = stack.serviceLines(name).filter((line) => /"level":"(error|fatal)"/.test(line));
        for (const line of errors.slice(0, 3)) failures.push(`${name} logged: ${line.slice(0, 600)}`);
      }
    }
    // Each fault's share of what was lost: the aggregates whose last command was acknowledged in its window.
    for (const row of rows) {
      row.lost = [...lost.keys()].filter((id) => clients.ledger.get(id)?.window === row.fault).length;
    }
    return { rows, failures, seconds: (Date.now() - started) / 1000 };
  } finally {
    await clients.stop().catch(() => undefined);
    await mongo.close().catch(() => undefined);
    await sql.end({ timeout: 2 }).catch(() => undefined);
    await stack.stop();
  }
}

/** Pauses the clients, waits for convergence, resumes them. */
async function settle(
  stack: FaultStack,
  clients: Clients,
  sql: postgres.Sql,
  mongo: MongoClient,
  options: SuiteOptions,
  failures: string[],
  what: string,
) {
  await clients.pause();
  const result = await converge(stack, sql, mongo, options.convergeMs);
  if (!result.converged) {
    failures.push(
      `${what}: not converged after ${options.convergeMs / 1000} s: ${result.differences.slice(0, 5).join("; ")}`,
    );
  } else {
    failures.push(...(await clients.resolveUncertain()).map((line) => `${what}: ${line}`));
    // Right away, before later commands could heal it: every aggregate this window changed reads
    // through the gateway as the read model holds it (a cache left behind by a crash would not).
    const touched = new Map([...clients.ledger].filter(([, entry]) => entry.window === what));
    const stale = await staleReads(stack.gatewayUrl, mongo, stack.database, touched);
    failures.push(...stale.map((line) => `stale read after ${what}: ${line}`));
  }
  clients.resume();
  return result;
}

/** The suite's table: one row per fault, then the totals. */
export function formatTable(result: SuiteResult): string[] {
  const statusKeys = [...new Set(result.rows.flatMap((row) => [...row.statuses.keys()]))].sort();
  const header = ["fault", "sent", "acked", "lost", "divergent", "converged s", ...statusKeys.map((s) => `#${s}`)];
  const line = (row: FaultRow) => [
    row.fault,
    String(row.sent),
    String(row.acknowledged),
    String(row.lost),
    String(row.divergent),
    row.convergeSeconds === undefined ? "no" : row.convergeSeconds.toFixed(1),
    ...statusKeys.map((s) => String(row.statuses.get(s) ?? 0)),
  ];
  const total: FaultRow = {
    fault: "total",
    sent: result.rows.reduce((sum, row) => sum + row.sent, 0),
    acknowledged: result.rows.reduce((sum, row) => sum + row.acknowledged, 0),
    lost: result.rows.reduce((sum, row) => sum + row.lost, 0),
    divergent: result.rows.reduce((sum, row) => sum + row.divergent, 0),
    convergeSeconds: result.rows.reduce((sum, row) => sum + (row.convergeSeconds ?? 0), 0),
    statuses: new Map(
      statusKeys.map((s) => [s, result.rows.reduce((sum, row) => sum + (row.statuses.get(s) ?? 0), 0)]),
    ),
  };
  const table = [header, ...result.rows.map(line), line(total)];
  const widths = header.map((_, i) => Math.max(...table.map((cells) => (cells[i] ?? "").length)));
  return table.map((cells) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  "),
  );
}
