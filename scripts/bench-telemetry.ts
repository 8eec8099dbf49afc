// `npm run bench:telemetry`: what tracing costs. Runs writer, reader and gateway as processes (as
// `npm start` does) twice on isolated data (their own database, read model, topics, group and keys,
// services on free ports): one set with telemetry on (default sampling: parent-based, always on;
// spans exported to the local Jaeger), one with OTEL_SDK_DISABLED=true. Then, in rounds whose order
// of on and off alternates, it measures with autocannon POST creates (a unique sku each) and a
// cached GET by id. Prints requests/s and p50/p99 latency (medians over the rounds), the on/off
// ratio, and the CPU each process (services, servers, the load generator) spent per request, read
// from /proc: on a shared 2-core machine that says where the cost is more steadily than throughput.
// Everything it starts is stopped and its data removed at the end, also on an error or Ctrl-C; the
// local stack itself is left running.
import fs from "node:fs";
import { createRequire } from "node:module";
import { MongoClient } from "mongodb";
import postgres from "postgres";
import { COLLECTION } from "#functions/products/product-read-model.ts";
import { formatRow, status, up } from "#infra/stack.ts";
import { type Config, ConfigError, loadConfig } from "#shared/platform/config.ts";
import { processEnv, type ServiceProcess, spawnService, waitReady } from "#tests/support/processes.ts";
import { cleanUp, eventually, runId } from "#tests/support/system.ts";

const say = (line: string) => console.log(`[bench] ${line}`);

const CONNECTIONS = 16;
const ROUNDS = 3;
const WARMUP_SECONDS = 2;
const MEASURE_SECONDS = 8;
// FerretDB 1.x scans the whole collection on every operation (docs/architecture.md, "The local
// stack and compose"), so the projection gets slower as creates pile up: each mode creates at most
// this many products.
const WARMUP_CREATES = 300;
const MEASURED_CREATES = 1500;
const CATCH_UP_MS = 120_000;

// autocannon ships no types: the part of its programmatic API used here.
interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: CannonRequest, context: Record<string, unknown>) => CannonRequest;
}
interface CannonOptions {
  url: string;
  connections: number;
  duration: number;
  maxOverallRequests?: number;
  timeout?: number;
  requests?: CannonRequest[];
}
interface CannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p50: number; p99: number; average: number };
  requests: { total: number; average: number };
  statusCodeStats: Record<string, { count: number }>;
}
type Cannon = (options: CannonOptions) => PromiseLike<CannonResult> & { stop(): void };
const autocannon = createRequire(import.meta.url)("autocannon") as Cannon;

type Mode = "on" | "off";

interface Measurement {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  seconds: number;
  failed: string | undefined;
}

// --- what must be undone, whatever happens ----------------------------------------------------

const undo: (() => Promise<void>)[] = [];
let running: { stop(): void } | undefined;
let interrupted = false;

async function undoAll(): Promise<void> {
  running?.stop();
  while (undo.length > 0) {
    const step = undo.pop();
    await step?.().catch((error: unknown) => say(`cleanup step failed: ${message(error)}`));
  }
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

// --- the services under test -----------------------------------------------------------------

async function stopService(service: ServiceProcess): Promise<void> {
  const code = await service.stop();
  if (code !== 0) say(`${service.name} exited with ${code ?? service.child.signalCode}`);
}

interface System {
  base: string;
  config: Config;
  services: ServiceProcess[];
}

/** The three services of one mode, on free ports and data of their own; undone by undoAll. */
async function startSystem(mode: Mode): Promise<System> {
  if (interrupted) throw new Error("interrupted");
  const { env, urls } = await processEnv(`bench_telemetry_${mode}`, {
    // The services' own default, not the tests' faster safety-net poll.
    OUTBOX_POLL_MS: "2000",
  });
  const config = loadConfig({ ...process.env, ...env });
  undo.push(() => cleanUp(config));
  const services = (["writer", "reader", "gateway"] as const).map((name) =>
    spawnService(
      name,
      {
        ...env,
        ...(mode === "on"
          ? // bench-* keeps these traces apart from npm start's in Jaeger (`npm run trace -- --last`).
            { OTEL_SERVICE_NAME: `bench-${name}`, OTEL_SDK_DISABLED: "false" }
          : { OTEL_SDK_DISABLED: "true" }),
      },
      undefined,
      // The services still write their log lines (a cost of both modes); the bench does not read them.
      { stdout: "ignore" },
    ),
  );
  undo.push(async () => {
    for (const service of [...services].reverse()) await stopService(service);
  });
  for (const service of services) await waitReady(service, `${urls[service.name]}/readyz`);
  return { base: urls.gateway, config, services };
}

// --- the load ----------------------------------------------------------------------------------

function describeFailures(result: CannonResult, expected: number): string | undefined {
  const unexpected = Object.entries(result.statusCodeStats)
    .filter(([code]) => Number(code) !== expected)
    .map(([code, { count }]) => `${count} × ${code}`);
  const parts = [
    ...unexpected,
    ...(result.errors > 0 ? [`${result.errors} errors`] : []),
    ...(result.timeouts > 0 ? [`${result.timeouts} timeouts`] : []),
  ];
  return parts.length > 0 ? parts.join(", ") : undefined;
}

async function fire(options: CannonOptions, expectedStatus: number): Promise<Measurement> {
  const instance = autocannon({ timeout: 10, ...options });
  running = instance;
  const result = await instance;
  running = undefined;
  if (interrupted) throw new Error("interrupted");
  return {
    rps: result.duration > 0 ? result.requests.total / result.duration : 0,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    seconds: result.duration,
    failed: describeFailures(result, expectedStatus),
  };
}

const productBody = (sku: string) =>
  JSON.stringify({ sku, name: "Bench Widget", description: "load", priceCents: 1299, currency: "EUR", stock: 5 });

/** Creates for `seconds` (at most `max` of them), each with a sku no other request uses. */
function creates(system: System, mode: Mode, stem: string, seconds: number, max: number): Promise<Measurement> {
  let n = 0;
  const tag = `bench-${mode}-${runId.slice(-8)}-${stem}`;
  return fire(
    {
      url: system.base,
      connections: CONNECTIONS,
      duration: seconds,
      maxOverallRequests: max,
      requests: [
        {
          method: "POST",
          path: "/api/v1/products",
          headers: { "content-type": "application/json" },
          setupRequest: (request) => ({ ...request, body: productBody(`${tag}-${++n}`) }),
        },
      ],
    },
    201,
  );
}

function reads(system: System, id: string, seconds: number): Promise<Measurement> {
  return fire(
    {
      url: system.base,
      connections: CONNECTIONS,
      duration: seconds,
      requests: [{ method: "GET", path: `/api/v1/products/${id}` }],
    },
    200,
  );
}

/** Waits until the read model has every product PostgreSQL has. */
async function caughtUp(config: Config): Promise<void> {
  const sql = postgres(config.postgres.url, { max: 1, onnotice: () => {} });
  const mongo = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  try {
    const [row] = await sql<{ n: string }[]>`select count(*) as n from products`;
    const rows = Number(row?.n ?? 0);
    const collection = mongo.db(config.mongodb.database).collection(COLLECTION);
    let last = -1;
    let lastSaid = Date.now();
    await eventually(
      `the projection to catch up with ${rows} products`,
      async () => {
        const count = await collection.countDocuments({});
        if (count !== last && Date.now() - lastSaid > 5000) {
          say(`  projection: ${count} of ${rows} products in the read model`);
          lastSaid = Date.now();
        }
        last = count;
        return count >= rows ? count : undefined;
      },
      CATCH_UP_MS,
    );
  } finally {
    await sql.end({ timeout: 2 });
    await mongo.close();
  }
}

async function oneProduct(system: System, mode: Mode): Promise<string> {
  const response = await fetch(`${system.base}/api/v1/products`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: productBody(`bench-${mode}-${runId.slice(-8)}-cached`),
  });
  const body = (await response.json()) as { id?: unknown };
  if (response.status !== 201 || typeof body.id !== "string") {
    throw new Error(`creating the product to read failed: ${response.status} ${JSON.stringify(body)}`);
  }
  const id = body.id;
  // The first 200 fills the cache; from then on every read is a hit.
  await eventually(
    `product ${id} to be readable`,
    async () => {
      const read = await fetch(`${system.base}/api/v1/products/${id}`);
      await read.arrayBuffer();
      return read.status === 200 ? true : undefined;
    },
    30_000,
  );
  return id;
}

const fmt = (m: Measurement) =>
  `${m.rps.toFixed(0).padStart(6)} req/s  p50 ${m.p50.toFixed(1).padStart(6)} ms  p99 ${m.p99.toFixed(1).padStart(6)} ms  (${m.requests} in ${m.seconds.toFixed(1)} s)`;

// --- CPU accounting: which process spent the cores -------------------------------------------------

const TICKS_PER_SECOND = 100;

/** The CPU seconds of every process now: its own, and its reaped children's. */
function processTable(): Map<number, { ppid: number; seconds: number }> {
  const table = new Map<number, { ppid: number; seconds: number }>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command (which may contain spaces) start after the last ")".
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
      table.set(Number(entry), { ppid: Number(fields[1]), seconds: ticks / TICKS_PER_SECOND });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

type Pids = Record<string, number>;

/** CPU seconds by name, each counting the process and its descendants (PostgreSQL's backends). */
function snapshot(pids: Pids): Record<string, number> {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const total = (pid: number): number =>
    (table.get(pid)?.seconds ?? 0) + (children.get(pid) ?? []).reduce((sum, child) => sum + total(child), 0);
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, total(pid)]));
}

/** Runs `measure` and adds the CPU each process spent meanwhile, in ms per request. */
/** The services send their spans every 5 s (the SDK's default): a window stays open that long after the load. */
const EXPORT_DELAY_MS = 5500;

/**
 * Runs `measure` and adds the CPU each process spent per request, from its start until the
 * services' last spans of it have gone out (EXPORT_DELAY_MS later, the same for both modes).
 */
async function withCpu(pids: Pids, measure: () => Promise<Measurement>): Promise<Measured> {
  const before = snapshot(pids);
  const bench = process.cpuUsage();
  const m = await measure();
  await new Promise((resolve) => setTimeout(resolve, EXPORT_DELAY_MS));
  const used = process.cpuUsage(bench);
  const after = snapshot(pids);
  const perRequest = (seconds: number) => (m.requests > 0 ? (seconds * 1000) / m.requests : 0);
  const cpu: Record<string, number> = {};
  for (const name of Object.keys(pids)) cpu[name] = perRequest((after[name] ?? 0) - (before[name] ?? 0));
  cpu["bench (load)"] = perRequest((used.user + used.system) / 1e6);
  return { ...m, cpu };
}

interface Measured extends Measurement {
  /** CPU milliseconds per request, by process. */
  cpu: Record<string, number>;
}

// --- the rounds ----------------------------------------------------------------------------------

interface Running extends System {
  mode: Mode;
  /** The services of this mode and the shared servers, by name. */
  pids: Pids;
  readId: string;
  creates: Measured[];
  reads: Measured[];
}

async function prepare(mode: Mode, servers: Pids): Promise<Running> {
  const label =
    mode === "on"
      ? "telemetry on (parent-based always-on sampling, OTLP to Jaeger)"
      : "telemetry off (OTEL_SDK_DISABLED=true)";
  say(`${label}: starting writer, reader, gateway`);
  const system = await startSystem(mode);
  say(`  ready at ${system.base} (database ${new URL(system.config.postgres.url).pathname.slice(1)})`);
  const pids: Pids = { ...servers };
  for (const service of system.services) if (service.child.pid) pids[service.name] = service.child.pid;
  await creates(system, mode, "warm", WARMUP_SECONDS, WARMUP_CREATES);
  const readId = await oneProduct(system, mode);
  await reads(system, readId, WARMUP_SECONDS);
  await caughtUp(system.config);
  return { ...system, mode, pids, readId, creates: [], reads: [] };
}

async function round(n: number, running: Running): Promise<void> {
  const { mode } = running;
  // A create's cost includes its relay and projection: the window closes once the read model has caught up.
  const created = await withCpu(running.pids, async () => {
    const measured = await creates(running, mode, `r${n}`, MEASURE_SECONDS, MEASURED_CREATES);
    await caughtUp(running.config);
    return measured;
  });
  say(
    `  round ${n} ${mode.padEnd(3)} POST create  ${fmt(created)}${created.failed ? `  UNEXPECTED: ${created.failed}` : ""}`,
  );
  running.creates.push(created);
  const read = await withCpu(running.pids, () => reads(running, running.readId, MEASURE_SECONDS));
  say(`  round ${n} ${mode.padEnd(3)} cached GET   ${fmt(read)}${read.failed ? `  UNEXPECTED: ${read.failed}` : ""}`);
  running.reads.push(read);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** CPU ms per request by process, over all rounds (total CPU / total requests). */
function cpuPerRequest(measured: Measured[]): Record<string, number> {
  const requests = measured.reduce((sum, m) => sum + m.requests, 0);
  const out: Record<string, number> = {};
  for (const m of measured) {
    for (const [name, ms] of Object.entries(m.cpu)) out[name] = (out[name] ?? 0) + (ms * m.requests) / requests;
  }
  return out;
}

function report(on: Running, off: Running): void {
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : "-");
  const lines: string[] = [];
  const section = (name: string, a: Measured[], b: Measured[]) => {
    const rpsOn = median(a.map((m) => m.rps));
    const rpsOff = median(b.map((m) => m.rps));
    const perRound = a.map((m, i) => ratio(m.rps, b[i]?.rps ?? 0)).join(", ");
    lines.push(
      `${name.padEnd(12)} on  ${rpsOn.toFixed(0).padStart(6)} req/s  p50 ${median(a.map((m) => m.p50)).toFixed(1)} ms  p99 ${median(a.map((m) => m.p99)).toFixed(1)} ms`,
      `${"".padEnd(12)} off ${rpsOff.toFixed(0).padStart(6)} req/s  p50 ${median(b.map((m) => m.p50)).toFixed(1)} ms  p99 ${median(b.map((m) => m.p99)).toFixed(1)} ms`,
      `${"".padEnd(12)} on/off throughput ${ratio(rpsOn, rpsOff)} (medians; by round: ${perRound})`,
    );
    const cpuOn = cpuPerRequest(a);
    const cpuOff = cpuPerRequest(b);
    const names = Object.keys(cpuOn).filter((k) => (cpuOn[k] ?? 0) + (cpuOff[k] ?? 0) >= 0.005);
    const total = (cpu: Record<string, number>) => Object.values(cpu).reduce((sum, ms) => sum + ms, 0);
    lines.push(`${"".padEnd(12)} CPU ms per request, on / off:`);
    for (const k of names) {
      lines.push(
        `${"".padEnd(14)}${k.padEnd(13)} ${(cpuOn[k] ?? 0).toFixed(3).padStart(7)} / ${(cpuOff[k] ?? 0).toFixed(3).padStart(7)}`,
      );
    }
    lines.push(
      `${"".padEnd(14)}${"all".padEnd(13)} ${total(cpuOn).toFixed(3).padStart(7)} / ${total(cpuOff).toFixed(3).padStart(7)}  (${ratio(total(cpuOff), total(cpuOn))} the requests per CPU second)`,
    );
  };
  section("POST create", on.creates, off.creates);
  section("cached GET", on.reads, off.reads);
  console.log("");
  console.log(
    `telemetry cost, ${ROUNDS} rounds alternating the order of on and off, ${CONNECTIONS} connections, ${MEASURE_SECONDS} s per measurement`,
  );
  for (const line of lines) console.log(`  ${line}`);
  const failures = [...on.creates, ...off.creates, ...on.reads, ...off.reads].filter((m) => m.failed !== undefined);
  if (failures.length > 0) console.log("  some requests failed (see UNEXPECTED above): the figures are not comparable");
  console.log(
    "  note: FerretDB 1.x scans the whole collection on every operation (no index is used), so projection cost grows with the data set; a real MongoDB (compose) uses the indexes. Cached GETs read Redis only.",
  );
  console.log(
    "  one machine runs the load, the three services of both modes and every server: relative figures, not capacity. The CPU per request counts each process whatever else runs; it is the steadier figure.",
  );
}

async function main(): Promise<number> {
  const config = loadConfig();
  say("bringing up the local stack (already running servers are left as they are)");
  await up(
    config,
    [],
    (line) => console.log(`[infra] ${line}`),
    (row) => console.log(formatRow(row)),
  );
  const servers: Pids = {};
  for (const row of await status(config)) if (row.pid !== undefined) servers[row.name] = row.pid;
  const on = await prepare("on", servers);
  const off = await prepare("off", servers);
  say(
    `${ROUNDS} rounds of ${MEASURE_SECONDS} s creates then ${MEASURE_SECONDS} s cached GETs, the order of on and off alternating`,
  );
  for (let n = 1; n <= ROUNDS; n++) {
    for (const running of n % 2 === 1 ? [on, off] : [off, on]) await round(n, running);
  }
  report(on, off);
  return 0;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: stopping what this run started`);
    void undoAll().then(() => process.exit(130));
  });
}

main()
  .catch((error: unknown) => {
    console.error(`bench-telemetry: ${error instanceof ConfigError ? error.message : message(error)}`);
    return 1;
  })
  .then(async (code) => {
    await undoAll();
    process.exit(code);
  });
