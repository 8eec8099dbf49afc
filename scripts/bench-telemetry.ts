// `npm run bench:telemetry`: what tracing costs. Runs writer, reader and gateway as processes (as
// `npm start` does) twice on isolated data (their own database, read model, topics, group and keys,
// services on free ports), once with telemetry on (default sampling: parent-based, always on;
// spans exported to the local Jaeger) and once with OTEL_SDK_DISABLED=true, and measures with
// autocannon: POST creates (a unique sku each) and a cached GET by id. Prints requests/s and
// p50/p99 latency of each, and the ratio on/off. Everything it starts is stopped and its data
// removed at the end, also on an error or Ctrl-C; the local stack itself is left running.
import { createRequire } from "node:module";
import { MongoClient } from "mongodb";
import postgres from "postgres";
import { COLLECTION } from "../functions/products/product-read-model.ts";
import { formatRow, up } from "../infra/stack.ts";
import { type Config, ConfigError, loadConfig } from "../shared/config.ts";
import { processEnv, type ServiceProcess, spawnService, waitReady } from "../tests/support/processes.ts";
import { cleanUp, eventually, runId } from "../tests/support/system.ts";

const say = (line: string) => console.log(`[bench] ${line}`);

const CONNECTIONS = 16;
const WARMUP_SECONDS = 2;
const MEASURE_SECONDS = 10;
// FerretDB 1.x scans the whole collection on every operation (design.md §6), so the projection gets
// slower as creates pile up: each mode creates at most this many products.
const WARMUP_CREATES = 300;
const MEASURED_CREATES = 4000;
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
    spawnService(name, {
      ...env,
      ...(mode === "on"
        ? // bench-* keeps these traces apart from npm start's in Jaeger (`npm run trace -- --last`).
          { OTEL_SERVICE_NAME: `bench-${name}`, OTEL_SDK_DISABLED: "false" }
        : { OTEL_SDK_DISABLED: "true" }),
    }),
  );
  undo.push(async () => {
    for (const service of [...services].reverse()) await stopService(service);
  });
  for (const service of services) await waitReady(service, `${urls[service.name]}/readyz`);
  return { base: urls.gateway, config };
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

/** Waits until the read model has every product PostgreSQL has; returns both counts. */
async function caughtUp(config: Config): Promise<{ rows: number; docs: number }> {
  const sql = postgres(config.postgres.url, { max: 1, onnotice: () => {} });
  const mongo = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  try {
    const [row] = await sql<{ n: string }[]>`select count(*) as n from products`;
    const rows = Number(row?.n ?? 0);
    const collection = mongo.db(config.mongodb.database).collection(COLLECTION);
    let last = -1;
    let lastSaid = Date.now();
    const docs = await eventually(
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
    return { rows, docs };
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

interface ModeResult {
  creates: Measurement;
  reads: Measurement;
  dataSet: { rows: number; docs: number };
}

async function runMode(mode: Mode): Promise<ModeResult> {
  const label =
    mode === "on"
      ? "telemetry on (parent-based always-on sampling, OTLP to Jaeger)"
      : "telemetry off (OTEL_SDK_DISABLED=true)";
  say(`${label}: starting writer, reader, gateway`);
  const mark = undo.length;
  const system = await startSystem(mode);
  say(`  ready at ${system.base} (database ${new URL(system.config.postgres.url).pathname.slice(1)})`);

  say(
    `  creates: ${WARMUP_SECONDS} s warm-up, then ${MEASURE_SECONDS} s (at most ${MEASURED_CREATES}), ${CONNECTIONS} connections`,
  );
  await creates(system, mode, "warm", WARMUP_SECONDS, WARMUP_CREATES);
  const created = await creates(system, mode, "run", MEASURE_SECONDS, MEASURED_CREATES);
  say(`  creates: ${fmt(created)}${created.failed ? `  UNEXPECTED: ${created.failed}` : ""}`);

  say("  waiting for the projection to catch up");
  const id = await oneProduct(system, mode);
  const dataSet = await caughtUp(system.config);
  say(`  data set: ${dataSet.rows} products in PostgreSQL, ${dataSet.docs} in the read model`);

  say(`  cached GET: ${WARMUP_SECONDS} s warm-up, then ${MEASURE_SECONDS} s, ${CONNECTIONS} connections`);
  await reads(system, id, WARMUP_SECONDS);
  const read = await reads(system, id, MEASURE_SECONDS);
  say(`  cached GET: ${fmt(read)}${read.failed ? `  UNEXPECTED: ${read.failed}` : ""}`);

  say("  stopping the services and removing their data");
  while (undo.length > mark) await undo.pop()?.();
  return { creates: created, reads: read, dataSet };
}

function report(on: ModeResult, off: ModeResult): void {
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : "-");
  const row = (name: string, a: Measurement, b: Measurement) => [
    `${name.padEnd(12)} on  ${fmt(a)}`,
    `${"".padEnd(12)} off ${fmt(b)}`,
    `${"".padEnd(12)} on/off: throughput ${ratio(a.rps, b.rps)}, p50 ${ratio(a.p50, b.p50)}, p99 ${ratio(a.p99, b.p99)}`,
  ];
  console.log("");
  console.log(
    `telemetry cost, ${CONNECTIONS} connections, ${MEASURE_SECONDS} s per measurement after ${WARMUP_SECONDS} s warm-up`,
  );
  for (const line of [...row("POST create", on.creates, off.creates), ...row("cached GET", on.reads, off.reads)]) {
    console.log(`  ${line}`);
  }
  const failures = [on.creates, off.creates, on.reads, off.reads].filter((m) => m.failed !== undefined);
  if (failures.length > 0) console.log("  some requests failed (see UNEXPECTED above): the figures are not comparable");
  console.log(
    `  data set: ${on.dataSet.docs} products (on) and ${off.dataSet.docs} (off), each in its own database; creates are capped at ${WARMUP_CREATES + MEASURED_CREATES} per mode`,
  );
  console.log(
    "  note: FerretDB 1.x scans the whole collection on every operation (no index is used), so projection cost grows with the data set; a real MongoDB (compose) uses the indexes. Cached GETs read Redis only.",
  );
  console.log("  one machine runs the load, the three services and every server: relative figures, not capacity.");
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
  const on = await runMode("on");
  const off = await runMode("off");
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
