// The measured scenarios. Each runs the system and its baselines with the same requests and
// concurrency, in rounds whose order alternates (so a drift of the machine's speed hits both), a
// warm-up before each window, and reports medians of the rounds.
import type { KafkaJS } from "@confluentinc/kafka-javascript";
import postgres from "postgres";
import { connectProducer, FETCH_WAIT_MAX_MS, kafkaClient } from "#shared/platform/kafka.ts";
import { eventually } from "#tests/support/wait.ts";
import {
  type CannonRequest,
  hadFailures,
  type LoadSpec,
  measure,
  medianWindow,
  settle,
  warm,
  windowOf,
} from "./load.ts";
import type { CpuPerRequest, ScenarioResult, Subject, Window } from "./results.ts";
import { type BenchSystem, cpuPerRequest, cpuSnapshot } from "./system.ts";
import { type ProjectedOutcome, unappliedEvents } from "./unapplied.ts";

export interface Settings {
  rounds: number;
  warmupSeconds: number;
  windowSeconds: number;
  connections: number;
  /** The open-loop load of the lag scenario. */
  lagSeconds: number;
  catchUpEvents: number;
  /** Longest a catch-up may take before it is reported as timed out with what it managed. */
  catchUpLimitSeconds: number;
}

export interface Contender {
  name: string;
  description: string;
  load: LoadSpec;
  /** Processes whose CPU is counted per request (the system's services and the servers). */
  pids?: Record<string, number>;
}

export interface Meta {
  id: string;
  scenario: string;
  title: string;
  size: number | undefined;
  notes?: string[];
}

export type Say = (line: string) => void;

const fmt = (w: Window) =>
  `${w.rate.toFixed(0).padStart(6)}/s  p50 ${w.latency.p50.toFixed(1)} p99 ${w.latency.p99.toFixed(1)} ms` +
  (w.errors > 0 || Object.keys(w.unexpected).length > 0
    ? `  (${w.errors} errors, ${JSON.stringify(w.unexpected)})`
    : "") +
  (w.timedOut ? "  TIMED OUT" : "");

/** The system (first) against its baselines: rounds alternating, medians, ratios. */
export async function compare(
  settings: Settings,
  meta: Meta,
  contenders: Contender[],
  say: Say,
): Promise<{ result: ScenarioResult; cpu: CpuPerRequest | undefined }> {
  const rounds = new Map<string, Window[]>(contenders.map((c) => [c.name, []]));
  let cpuTotals: Record<string, number> = {};
  let cpuRequests = 0;
  for (let round = 0; round < settings.rounds; round++) {
    // Odd rounds run the contenders in reverse: neither always goes first on a warming machine.
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      await warm(contender.load, settings.warmupSeconds);
      if (contender.load.drain) await contender.load.drain();
      const before = contender.pids ? cpuSnapshot(contender.pids) : undefined;
      const window = await measure(contender.load, settings.windowSeconds);
      // A create's cost includes its relay and projection: the CPU window closes once they are done.
      if (contender.load.drain) await contender.load.drain();
      if (before && contender.pids) {
        const spent = cpuPerRequest(before, cpuSnapshot(contender.pids), 1);
        for (const [name, ms] of Object.entries(spent)) cpuTotals[name] = (cpuTotals[name] ?? 0) + ms;
        cpuRequests += window.count;
      }
      rounds.get(contender.name)?.push(window);
      if (window.timedOut || hadFailures(window)) await settle(contender.load);
      say(`  ${meta.id} round ${round + 1} ${contender.name.padEnd(28)} ${fmt(window)}`);
    }
  }
  const subjects: Subject[] = contenders.map((c) => {
    const windows = rounds.get(c.name) ?? [];
    return { name: c.name, description: c.description, rounds: windows, median: medianWindow(windows) };
  });
  if (cpuRequests > 0)
    cpuTotals = Object.fromEntries(Object.entries(cpuTotals).map(([k, ms]) => [k, ms / cpuRequests]));
  const [system, ...baselines] = subjects;
  if (!system) throw new Error(`${meta.id}: no system to measure`);
  return {
    result: scenarioResult(meta, contenders[0]?.load.connections ?? 0, "req/s", system, baselines),
    cpu: cpuRequests > 0 ? { scenario: meta.id, byProcess: cpuTotals } : undefined,
  };
}

export function scenarioResult(
  meta: Meta,
  concurrency: number,
  unit: ScenarioResult["unit"],
  system: Subject,
  baselines: Subject[],
): ScenarioResult {
  const all = [system, ...baselines];
  const broken = all.some((s) => hadFailures(s.median));
  const timedOut = all.some((s) => s.median.timedOut);
  const ratios: Record<string, number> = {};
  for (const baseline of baselines) {
    if (baseline.median.rate > 0) ratios[baseline.name] = system.median.rate / baseline.median.rate;
  }
  return {
    id: meta.id,
    scenario: meta.scenario,
    title: meta.title,
    size: meta.size,
    concurrency,
    unit,
    system,
    baselines,
    ratios,
    targets: [],
    status: timedOut ? "timed-out" : broken ? "not-counted" : "ok",
    notes: meta.notes ?? [],
  };
}

// --- the requests -------------------------------------------------------------------------------

/** GETs of `paths` in turn. */
export function gets(url: string, connections: number, paths: string[], expect = 200): LoadSpec {
  return {
    url,
    connections,
    expect,
    probe: paths[0],
    requests: () => {
      let next = 0;
      return [
        {
          method: "GET",
          setupRequest: (request: CannonRequest) => ({ ...request, path: paths[next++ % paths.length] }),
        },
      ];
    },
  };
}

export interface NewProduct {
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  tags: string[];
}

/** POSTs of new products, each from `next()` (one generator for system and baselines: never a 409). */
export function creates(
  url: string,
  connections: number,
  next: () => NewProduct,
  drain?: () => Promise<void>,
): LoadSpec {
  return {
    url,
    connections,
    expect: 201,
    drain,
    requests: () => [
      {
        method: "POST",
        path: "/api/v1/products",
        headers: { "content-type": "application/json" },
        setupRequest: (request: CannonRequest) => ({ ...request, body: JSON.stringify(next()) }),
      },
    ],
  };
}

// --- projections: lag under load, catch-up from a standing start ---------------------------------

interface Projected extends ProjectedOutcome {
  lagMs: number;
  at: number;
}

/** The reader's "event projected" log lines from `from` on (its stdout, one JSON object a line), whatever their outcome. */
function projectedLines(system: BenchSystem, from: number): Projected[] {
  const reader = system.services.find((s) => s.name === "reader");
  const out: Projected[] = [];
  for (const line of reader?.lines.slice(from) ?? []) {
    if (!line.includes('"event projected"')) continue;
    try {
      const entry = JSON.parse(line) as {
        aggregate_id?: string;
        version?: number;
        lag_ms?: number;
        outcome?: string;
        time?: string;
      };
      const { aggregate_id: aggregateId, version, outcome, lag_ms: lagMs } = entry;
      if (aggregateId === undefined || version === undefined || outcome === undefined || lagMs === undefined) continue;
      out.push({ aggregateId, version, outcome, lagMs, at: Date.parse(entry.time ?? "") });
    } catch {
      // not a log object
    }
  }
  return out;
}

const appliedLines = (system: BenchSystem, from: number) =>
  projectedLines(system, from).filter((p) => p.outcome === "applied");

/**
 * Open-loop commands (creates, and updates of `updateIds`) at `rate` for `seconds`; the lag of each
 * applied event, from the writer's decision to the projection's write, as the projection logs it.
 */
export async function lagUnderLoad(
  system: BenchSystem,
  settings: Settings,
  rate: number,
  next: () => NewProduct,
  updateIds: string[],
  say: Say,
): Promise<{ window: Window; series: [number, number][]; commands: number }> {
  const reader = system.services.find((s) => s.name === "reader");
  const from = reader?.lines.length ?? 0;
  const started = Date.now();
  // The outbox stamps events with PostgreSQL's clock: this machine's.
  const since = new Date(started);
  let n = 0;
  const spec: LoadSpec = {
    url: system.urls.gateway,
    connections: settings.connections,
    expect: 0,
    rate,
    requests: () => [
      {
        headers: { "content-type": "application/json" },
        setupRequest: (request: CannonRequest) => {
          n++;
          // Half creates, half updates of existing products (their stock, which no search reads).
          const id = updateIds[n % updateIds.length];
          if (n % 2 === 0 && id !== undefined) {
            return { ...request, method: "PATCH", path: `/api/v1/products/${id}`, body: JSON.stringify({ stock: n }) };
          }
          return { ...request, method: "POST", path: "/api/v1/products", body: JSON.stringify(next()) };
        },
      },
    ],
  };
  const window = await measure(spec, settings.lagSeconds);
  // Every command answered 200 or 201: those are the events to wait for.
  const commands = (window.unexpected["200"] ?? 0) + (window.unexpected["201"] ?? 0);
  let timedOut = false;
  await eventually(
    `the projection to apply the ${commands} events of the lag window`,
    async () => (appliedLines(system, from).length >= commands ? true : undefined),
    30_000,
    100,
  ).catch(() => {
    timedOut = true;
  });
  const projected = appliedLines(system, from);
  say(`  lag: ${projected.length} of ${commands} events applied`);
  if (timedOut) {
    const outcomes = projectedLines(system, from);
    // A diagnosis only: a failure to make it leaves the window timed out, as it is.
    const unapplied = await unappliedEvents(system.config.postgres.url, since, outcomes).catch((error: unknown) => [
      `could not list the events not applied: ${String(error)}`,
    ]);
    for (const line of unapplied) say(`  lag: ${line}`);
    // What the reader said meanwhile besides its projected lines: a retried batch, a rebalance.
    const notes = (reader?.lines.slice(from) ?? []).filter(
      (line) => !line.includes('"event projected"') && /"level":"(warn|error|fatal)"|rebalanc|assign|revok/i.test(line),
    );
    say(`  lag: the reader's warnings, rebalances and assignments in the window: ${notes.length}`);
    for (const line of notes.slice(-8)) say(`  lag:   ${line.slice(0, 400)}`);
  }
  const seconds = (Date.now() - started) / 1000;
  const result = windowOf(
    projected.map((p) => p.lagMs),
    seconds,
    timedOut,
  );
  const failures = Object.entries(window.unexpected).filter(([code]) => code !== "200" && code !== "201");
  return {
    window: { ...result, errors: window.errors, unexpected: Object.fromEntries(failures) },
    series: projected.map((p) => [(p.at - started) / 1000, p.lagMs] as [number, number]),
    commands,
  };
}

/** A raw produce -> consume round trip with the same client, broker and settings as the services. */
export async function kafkaRoundTrip(brokers: string, topic: string, rate: number, seconds: number): Promise<Window> {
  const kafka = kafkaClient(brokers, "bench-round-trip");
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] }).catch(() => false);
  await admin.disconnect();
  const producer = await connectProducer(kafka);
  const consumer: KafkaJS.Consumer = kafka.consumer({
    "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
    kafkaJS: { groupId: `${topic}.group`, fromBeginning: true, autoCommit: false },
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  const sent = new Map<string, number>();
  const samples: number[] = [];
  void consumer.run({
    eachMessage: async ({ message }) => {
      const key = message.key?.toString() ?? "";
      const at = sent.get(key);
      if (at !== undefined) samples.push(performance.now() - at);
      await consumer.commitOffsets([]).catch(() => {});
    },
  });
  // Let the group settle before the clock starts.
  await eventually(
    "the round-trip consumer to be assigned",
    async () => (consumer.assignment().length > 0 ? true : undefined),
    30_000,
  );
  const total = Math.max(1, Math.round(rate * seconds));
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const key = `k${i}`;
    sent.set(key, performance.now());
    void producer.send({ topic, messages: [{ key, value: "x" }] });
  }
  await eventually(
    "every round-trip message to come back",
    async () => (samples.length >= total ? true : undefined),
    30_000,
    20,
  ).catch(() => {});
  const window = windowOf(samples, seconds, samples.length < total);
  await consumer.disconnect();
  await producer.disconnect();
  const cleanup = kafka.admin();
  await cleanup.connect();
  await cleanup.deleteTopics({ topics: [topic] }).catch(() => {});
  await cleanup.deleteGroups([`${topic}.group`]).catch(() => {});
  await cleanup.disconnect();
  return window;
}

/** Applied events so far, from the reader's own /metrics. */
/**
 * Events the reader's projection has taken from Kafka: applied, or stale (a batch writes only the
 * newest version of an id it holds several of; the others are taken as stale, not written).
 */
async function projectedEvents(readerUrl: string): Promise<number> {
  const text = await fetch(`${readerUrl}/metrics`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text());
  let total = 0;
  for (const line of text.split("\n")) {
    if (
      line.startsWith("cqrs_projection_events") &&
      (line.includes('outcome="applied"') || line.includes('outcome="stale"'))
    ) {
      total += Number(line.split(" ").at(-1) ?? 0);
    }
  }
  return total;
}

/** Waits (bounded) until the system's read model holds every product its database has. */
export async function projectionCaughtUp(system: BenchSystem, limitMs = 120_000): Promise<void> {
  const sql = postgres(system.config.postgres.url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ n: string }[]>`select count(*) as n from products`;
    const rows = Number(row?.n ?? 0);
    const reader = system.urls.reader;
    const before = await projectedEvents(reader).catch(() => 0);
    const { MongoClient } = await import("mongodb");
    const mongo = new MongoClient(system.config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
    try {
      const products = mongo.db(system.config.mongodb.database).collection("products");
      await eventually(
        `the projection to catch up with ${rows} products (${before} events projected so far)`,
        async () =>
          (await products.countDocuments({})) >= rows && (await unsent(system.config.postgres.url)) === 0
            ? true
            : undefined,
        limitMs,
        200,
      ).catch(async (error: unknown) => {
        throw new Error(`${String(error)}\n${await stuckProjection(system, await products.countDocuments({}))}`);
      });
    } finally {
      await mongo.close();
    }
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** What a projection that did not catch up says about where events stopped: a failure's detail. */
async function stuckProjection(system: BenchSystem, projected: number): Promise<string> {
  const gauge = async (url: string, name: string) => {
    const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })
      .then((response) => response.text())
      .catch((error: unknown) => `unreachable: ${String(error)}`);
    return (
      text
        .split("\n")
        .filter((line) => line.startsWith(name))
        .join("; ") || "none"
    );
  };
  const warnings = system.services
    .filter((service) => service.name !== "gateway")
    .flatMap((service) =>
      service.lines
        .filter((line) => /"level":"(warn|error|fatal)"|relay lease/.test(line))
        .slice(-8)
        .map((line) => `  ${service.name}: ${line.slice(0, 400)}`),
    );
  return [
    `read model: ${projected} products; outbox rows not yet published: ${await unsent(system.config.postgres.url)}`,
    `writer relay lease: ${await gauge(system.urls.writer, "cqrs_outbox_relay_lease")}`,
    `reader events: ${await gauge(system.urls.reader, "cqrs_projection_events")}`,
    `reader consumer lag: ${await gauge(system.urls.reader, "messaging_kafka_consumer_lag")}`,
    "the writer's and reader's warnings and lease lines, newest last:",
    ...(warnings.length > 0 ? warnings : ["  none"]),
  ].join("\n");
}

/** Rows of the outbox the relay has not published yet. */
async function unsent(postgresUrl: string): Promise<number> {
  const sql = postgres(postgresUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ n: string }[]>`select count(*) as n from outbox where sent_at is null`;
    return Number(row?.n ?? 0);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/**
 * A backlog of `events` updates made while the reader is down, then applied from a standing start
 * by a new reader: events per second from its first applied event to its last (or to the limit),
 * and the CPU each process (`servers` and the new reader) spent per event over the same span.
 */
export async function catchUp(
  system: BenchSystem,
  startReader: () => Promise<BenchSystem>,
  settings: Settings,
  ids: string[],
  servers: Record<string, number>,
  say: Say,
): Promise<{ window: Window; series: [number, number][]; cpuPerEvent: Record<string, number> }> {
  const reader = system.services.find((s) => s.name === "reader");
  await reader?.stop();
  // The backlog: updates through the gateway (as fast as the writer takes them), published by the relay.
  let n = 0;
  const spec: LoadSpec = {
    url: system.urls.gateway,
    connections: settings.connections,
    expect: 200,
    requests: () => [
      {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        setupRequest: (request: CannonRequest) => {
          n++;
          return { ...request, path: `/api/v1/products/${ids[n % ids.length]}`, body: JSON.stringify({ stock: n }) };
        },
      },
    ],
  };
  let made = 0;
  while (made < settings.catchUpEvents) {
    const window = await measure({ ...spec }, Math.min(2, settings.windowSeconds));
    made += window.count;
  }
  await eventually(
    "the relay to publish the backlog",
    async () => ((await unsent(system.config.postgres.url)) === 0 ? true : undefined),
    120_000,
    200,
  );
  say(`  catch-up: ${made} events waiting; starting a reader`);
  const fresh = await startReader();
  const url = fresh.urls.reader;
  const pids = { ...servers, ...fresh.pids };
  const series: [number, number][] = [];
  const started = Date.now();
  let first: number | undefined;
  let last = started;
  let applied = 0;
  // CPU from the first poll that saw events applied (the reader's start-up before it left out) to
  // the last that saw more.
  let cpuFrom: { snapshot: Record<string, number>; applied: number } | undefined;
  let cpuTo: { snapshot: Record<string, number>; applied: number } | undefined;
  const limit = started + settings.catchUpLimitSeconds * 1000;
  while (applied < made && Date.now() < limit) {
    const now = await projectedEvents(url).catch(() => applied);
    if (now > applied) {
      first ??= Date.now();
      last = Date.now();
      const mark = { snapshot: cpuSnapshot(pids), applied: now };
      cpuFrom ??= mark;
      cpuTo = mark;
    }
    applied = now;
    series.push([(Date.now() - started) / 1000, applied]);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const seconds = Math.max(0.001, (last - (first ?? started)) / 1000);
  const timedOut = applied < made;
  say(`  catch-up: ${applied} of ${made} applied in ${seconds.toFixed(1)} s${timedOut ? " (limit reached)" : ""}`);
  const cpuPerEvent =
    cpuFrom && cpuTo && cpuTo.applied > cpuFrom.applied
      ? cpuPerRequest(cpuFrom.snapshot, cpuTo.snapshot, cpuTo.applied - cpuFrom.applied)
      : {};
  return {
    cpuPerEvent,
    window: {
      rate: applied / seconds,
      latency: { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 },
      count: applied,
      seconds,
      errors: 0,
      unexpected: {},
      timedOut,
    },
    series,
  };
}
