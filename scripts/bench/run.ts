// The bench's plan: which data sets, systems and baselines, in which order, and what each scenario
// compares. Systems live only as long as their scenarios (an idle reader still polls Kafka), and
// everything a run creates is removed at the end, also on an error or Ctrl-C.
import fs from "node:fs";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { MongoClient } from "mongodb";
import postgres from "postgres";
import { type Config, loadConfig } from "#shared/platform/config.ts";
import { deadLetterTopicFor, topicFor } from "#shared/platform/events.ts";
import { kafkaClient } from "#shared/platform/kafka.ts";
import { runId } from "#tests/support/system.ts";
import { eventually } from "#tests/support/wait.ts";
import { type Baseline, startBaseline } from "./baselines.ts";
import { compareReports } from "./compare.ts";
import {
  generateProducts,
  generateUsers,
  newProductFields,
  paramsKey,
  SEARCH_SHAPES,
  type SearchShape,
  withCursor,
} from "./data.ts";
import { benchHeaders, getEach, hadFailures, type LoadSpec, measure, stopLoad } from "./load.ts";
import { summariseProfiles } from "./profile.ts";
import { rebuildCost } from "./rebuild-scenario.ts";
import { formatReport, writeReport } from "./report.ts";
import type { BenchReport, CpuPerRequest, MachineInfo, MemorySample, ScenarioResult, Window } from "./results.ts";
import {
  catchUp,
  compare,
  creates,
  gets,
  kafkaRoundTrip,
  lagUnderLoad,
  type NewProduct,
  projectionCaughtUp,
  type Settings,
  scenarioResult,
} from "./scenarios.ts";
import { datasetPresent, markDataset, seedProducts, seedUsers } from "./seed.ts";
import { type BenchSystem, memory, type SystemOptions, startSystem } from "./system.ts";
import {
  AFTER_THE_RUN,
  AT_REST_AFTER_A_SECOND_PASS,
  AT_REST_AFTER_THE_RUN,
  BASELINES,
  withTargets,
} from "./targets.ts";

export interface BenchOptions {
  mode: "smoke" | "full";
  only: string | undefined;
  profile: string | undefined;
  compare: string | undefined;
  outDir: string;
  commit: string;
  /** The local stack's servers, name -> pid (their CPU is counted too). */
  servers: Record<string, number>;
  machine: MachineInfo;
}

const say = (line: string) => console.log(`[bench] ${line}`);

const SEED = 20_261_201;
const CONNECTIONS = 32;
/** Above this many products a data set is kept between runs (seeding it takes minutes). */
const KEEP_ABOVE = 10_000;

/** What the run adds to the scenarios' settings. */
interface RunSettings extends Settings {
  sizes: number[];
  /**
   * Every system a size needs starts side by side when the size begins (the smoke run, whose
   * figures are not judged); otherwise each starts when its scenario does, so no idle system shares
   * the cores with another's window.
   */
  startAhead: boolean;
  hotIds: number;
  /**
   * How long the services idle before each sample the memory growth target compares: two of the
   * memory trim's 5 s checks and a margin, so that a trim the load made due has run
   * (shared/platform/memory-trim.ts, services/run-service.ts).
   */
  restSeconds: number;
}

const SETTINGS: Record<BenchOptions["mode"], RunSettings> = {
  full: {
    sizes: [1_000, 10_000, 100_000],
    startAhead: false,
    hotIds: 1000,
    restSeconds: 12,
    rounds: 3,
    warmupSeconds: 2,
    windowSeconds: 5,
    connections: CONNECTIONS,
    lagSeconds: 60,
    catchUpEvents: 10_000,
    catchUpLimitSeconds: 120,
  },
  smoke: {
    sizes: [1_000],
    startAhead: true,
    // Fewer hot ids to fill (each a cache miss first): the smoke checks the instrument, not the speed.
    hotIds: 200,
    restSeconds: 1,
    rounds: 1,
    warmupSeconds: 0.3,
    windowSeconds: 1,
    connections: CONNECTIONS,
    lagSeconds: 2,
    catchUpEvents: 300,
    catchUpLimitSeconds: 20,
  },
};

const label = (size: number) => (size >= 1000 ? `${size / 1000}k` : String(size));

// --- what must be undone, whatever happens -------------------------------------------------------

const undo: (() => Promise<void>)[] = [];
/** Systems starting ahead of their scenarios, or stopping behind them: undone once settled. */
const pending = new Set<Promise<unknown>>();
let interrupted = false;

async function undoAll(): Promise<void> {
  stopLoad();
  await Promise.allSettled(pending);
  while (undo.length > 0) {
    const step = undo.pop();
    await step?.().catch((error: unknown) =>
      say(`cleanup step failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: stopping what this run started`);
    void undoAll().then(() => process.exit(130));
  });
}

function checkInterrupted(): void {
  if (interrupted) throw new Error("interrupted");
}

// --- data sets ----------------------------------------------------------------------------------

interface Dataset {
  size: number;
  /** POSTGRES_URL and MONGODB_DATABASE of the data set. */
  env: Record<string, string>;
  config: Config;
  liveIds: string[];
  kept: boolean;
}

function datasetEnv(name: string): Record<string, string> {
  const base = loadConfig();
  const url = new URL(base.postgres.url);
  url.pathname = `/${name}`;
  return { POSTGRES_URL: url.toString(), MONGODB_DATABASE: name };
}

async function dropDatabases(config: Config): Promise<void> {
  const name = decodeURIComponent(new URL(config.postgres.url).pathname.slice(1));
  const maintenance = new URL(config.postgres.url);
  maintenance.pathname = "/postgres";
  const sql = postgres(maintenance.toString(), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists "${name.replaceAll('"', '""')}" with (force)`);
  } finally {
    await sql.end({ timeout: 2 });
  }
  const mongo = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  try {
    await mongo.db(config.mongodb.database).dropDatabase();
  } finally {
    await mongo.close();
  }
}

async function prepareDataset(size: number, runTag: string): Promise<Dataset> {
  const params = { count: size, seed: SEED };
  const kept = size > KEEP_ABOVE;
  const name = kept ? `bench_keep_${paramsKey(params)}` : `bench_${runTag}_${label(size)}`;
  const env = datasetEnv(name);
  const config = loadConfig({ ...process.env, ...env });
  const products = generateProducts(params);
  const liveIds = products.filter((p) => !p.deleted).map((p) => p.id);
  const users = generateUsers({ count: size, seed: SEED });
  if (kept && (await datasetPresent(config, paramsKey(params), products.length + users.length))) {
    say(`data set ${label(size)}: kept from an earlier run (${name})`);
  } else {
    if (!kept) undo.push(() => dropDatabases(config));
    else await dropDatabases(config);
    say(
      `data set ${label(size)}: seeding ${products.length} products and ${users.length} users into ${name}${size > 10_000 ? " (the bench's only data set above 10k; kept for the next run)" : ""}`,
    );
    const started = Date.now();
    let lastSaid = 0;
    const progress = (what: string) => (done: number, total: number) => {
      if (Date.now() - lastSaid < 5000 && done < total) return;
      lastSaid = Date.now();
      const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
      say(
        `  ${what}: ${done} of ${total} (${rate.toFixed(0)}/s, ${((total - done) / Math.max(1, rate)).toFixed(0)} s to go)`,
      );
    };
    await seedProducts(config, products, progress("products"));
    await seedUsers(config, users, progress("users"));
    await markDataset(config, paramsKey(params), products.length + users.length);
    say(`  seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return { size, env, config, liveIds, kept };
}

/** Takes out of a kept data set what this run added (its creates), so the next run finds it as it was. */
async function restoreKept(dataset: Dataset, skuPrefix: string): Promise<void> {
  const sql = postgres(dataset.config.postgres.url, { max: 1, onnotice: () => {} });
  try {
    await sql`delete from products where sku like ${`${skuPrefix}%`}`;
    await sql`delete from outbox`;
    await sql`delete from idempotency_keys`;
  } finally {
    await sql.end({ timeout: 2 });
  }
  const mongo = new MongoClient(dataset.config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  try {
    await mongo
      .db(dataset.config.mongodb.database)
      .collection("products")
      .deleteMany({ sku: { $regex: `^${skuPrefix}` } });
  } finally {
    await mongo.close();
  }
}

// --- systems and baselines ------------------------------------------------------------------------

/** Removes what a system made besides its data set: topics, consumer group, cache keys. */
async function dropSystemArtifacts(config: Config): Promise<void> {
  const admin = kafkaClient(config.kafka.brokers, "bench-cleanup").admin();
  await admin.connect();
  try {
    const topics = ["product", "user"].map((type) => topicFor(config.kafka.topicPrefix, type));
    const existing = new Set(await admin.listTopics());
    const doomed = [...topics, ...topics.map(deadLetterTopicFor)].filter((topic) => existing.has(topic));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
    await admin.deleteGroups([config.kafka.consumerGroup]).catch(() => {});
  } finally {
    await admin.disconnect();
  }
  const { createClient } = await import("redis");
  const redis = createClient({ url: config.redis.url });
  await redis.connect();
  try {
    for await (const keys of redis.scanIterator({ MATCH: `${config.redis.keyPrefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await redis.del(keys);
    }
  } finally {
    redis.destroy();
  }
}

interface Running {
  system: BenchSystem;
  stop(): Promise<void>;
}

let profileFlags: string[] = [];
/** pid -> "system/service", to name the profiles. */
const profileNames: Record<number, string> = {};

async function system(name: string, options: SystemOptions): Promise<Running> {
  checkInterrupted();
  const since = Date.now();
  const started = await startSystem(name, { ...options, nodeFlags: [...(options.nodeFlags ?? []), ...profileFlags] });
  say(
    `  system ${name}: ${started.services.map((s) => s.name).join(", ")} ready in ${((Date.now() - since) / 1000).toFixed(1)} s`,
  );
  for (const service of started.services)
    if (service.child.pid) profileNames[service.child.pid] = `${name}/${service.name}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await started.stop();
    await dropSystemArtifacts(started.config);
  };
  undo.push(stop);
  return { system: started, stop };
}

/**
 * A start that runs when first asked for, or at once when `now` (its failure is then reported where
 * it is asked for, not as an unhandled rejection meanwhile).
 */
function startWhen<T>(now: boolean, start: () => Promise<T>): () => Promise<T> {
  let started: Promise<T> | undefined;
  const get = () => {
    if (started === undefined) {
      started = start();
      track(started);
    }
    return started;
  };
  if (now) get();
  return get;
}

/** Keeps `work` in `pending` until it settles (its failure is reported where it is awaited, if anywhere). */
function track(work: Promise<unknown>): void {
  const settled = work.then(
    () => {},
    () => {},
  );
  pending.add(settled);
  void settled.then(() => pending.delete(settled));
}

/** Stops what a scenario used: at once, or (`behind`) while the next scenario runs. */
async function retire(behind: boolean, ...stops: (() => Promise<void>)[]): Promise<void> {
  const stopping = Promise.all(stops.map((stop) => stop()));
  if (behind) track(stopping);
  else await stopping;
}

async function baseline(
  kind: Parameters<typeof startBaseline>[0],
  env: Record<string, string>,
  extra = {},
): Promise<Baseline> {
  checkInterrupted();
  const started = await startBaseline(kind, env, extra);
  undo.push(started.stop);
  return started;
}

// --- the run --------------------------------------------------------------------------------------

export async function runBench(options: BenchOptions): Promise<number> {
  const settings = SETTINGS[options.mode];
  const startedAt = new Date().toISOString();
  const runTag = runId.replace(/[^A-Za-z0-9]/g, "").slice(-10);
  const skuPrefix = `NEW-${runTag}-`;
  const scenarios: ScenarioResult[] = [];
  const cpu: CpuPerRequest[] = [];
  const samples: MemorySample[] = [];
  // --only takes one prefix or several, comma-separated (e.g. rebuild,catch-up.100k).
  const only = options.only?.split(",").filter((prefix) => prefix !== "");
  const wanted = (id: string) => only === undefined || only.some((p) => id.startsWith(p));
  const wantedAny = (prefix: string) =>
    only === undefined || only.some((p) => prefix.startsWith(p) || p.startsWith(prefix));
  const record = (outcome: { result: ScenarioResult; cpu: CpuPerRequest | undefined }) => {
    scenarios.push(outcome.result);
    if (outcome.cpu) cpu.push(outcome.cpu);
  };
  /** Search shapes that timed out, and at which size. */
  const hopeless = new Map<string, string>();
  let created = 0;
  // One generator for system and baselines: every create has a sku no other request used.
  const newProduct = (): NewProduct => newProductFields(SEED, runTag, ++created);
  const profileDir = options.profile
    ? path.join(options.outDir, "profiles", new Date().toISOString().replaceAll(":", "-"))
    : undefined;
  if (profileDir) {
    fs.mkdirSync(profileDir, { recursive: true });
    profileFlags = ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  }
  say(
    `${options.mode} run, commit ${options.commit}, run id ${runTag}: sizes ${settings.sizes.map(label).join(", ")}, ${settings.rounds} round(s), ${settings.warmupSeconds} s warm-up + ${settings.windowSeconds} s windows, ${CONNECTIONS} connections`,
  );

  try {
    let createRate = 0;
    for (const size of settings.sizes) {
      const sizeLabel = label(size);
      const first = size === settings.sizes[0];
      const last = size === settings.sizes.at(-1);
      const searchIds = SEARCH_SHAPES.map((shape) => `search.${shapeId(shape)}.${sizeLabel}`);
      const runsUncached = wanted(`read.uncached.${sizeLabel}`) && (first || last);
      const runsWrites = first && (wanted("create") || wantedAny("telemetry"));
      const runsReadsOff = runsWrites && wanted("telemetry.read");
      const needsData =
        runsWrites ||
        searchIds.some(wanted) ||
        (first && (wantedAny("read") || wantedAny("telemetry"))) ||
        runsUncached ||
        wanted(`catch-up.${sizeLabel}`) ||
        (last && (wanted("lag") || wanted("rebuild")));
      if (!needsData) continue;
      const dataset = await prepareDataset(size, runTag);
      if (dataset.kept) undo.push(() => restoreKept(dataset, skuPrefix));
      const ahead = settings.startAhead;
      const mainSystem = startWhen(true, () => system(`bench_${sizeLabel}`, { telemetry: true, env: dataset.env }));
      // Systems that only read the main one's data set run a reader and a gateway of their own, and
      // send writes to the main writer: a writer of theirs on the same database could take the relay's
      // lease and publish the main system's events to topics its reader never reads.
      const readingSystem = async (name: string, options: SystemOptions) => {
        const writer = (await mainSystem()).system.env.WRITER_ADDRESS ?? "";
        return system(name, {
          ...options,
          env: { ...options.env, WRITER_ADDRESS: writer },
          only: ["reader", "gateway"],
        });
      };
      // Every read a miss: a reader whose cache never keeps an entry (CACHE_TTL_SECONDS=0).
      const uncachedSystem = startWhen(ahead && runsUncached, () =>
        readingSystem(`bench_${sizeLabel}_uncached`, {
          telemetry: true,
          env: { ...dataset.env, CACHE_TTL_SECONDS: "0" },
        }),
      );
      // Creates go to fresh data sets of their own, so they grow no read data set.
      const writeSystems = startWhen(ahead && runsWrites, async () => {
        const [writesOn, writesOff, drizzleData] = await Promise.all(
          ["w1", "w2", "w3"].map((suffix) => prepareDataset(0, `${runTag}${suffix}`).catch(() => undefined)),
        );
        if (!writesOn || !writesOff || !drizzleData) throw new Error("could not prepare the data sets for creates");
        const [on, off] = await Promise.all([
          system("bench_writes_on", { telemetry: true, env: writesOn.env }),
          system("bench_writes_off", { telemetry: false, env: writesOff.env }),
        ]);
        return { on, off, drizzleData };
      });
      const hot = dataset.liveIds.slice(0, settings.hotIds).map((id) => `/api/v1/products/${id}`);
      // Its cache filled as it starts: the first read of each hot id misses, every later one hits.
      const readsOffSystem = startWhen(ahead && runsReadsOff, async () => {
        const readsOff = await readingSystem(`bench_${sizeLabel}_off`, { telemetry: false, env: dataset.env });
        await getEach(readsOff.system.urls.gateway, hot);
        return readsOff;
      });
      const main = await mainSystem();
      samples.push(...(await memory(main.system, first ? "at rest" : "after seeding")));
      const api = main.system.urls.gateway;
      /** The reads the main system served, for the second pass after the memory sample. */
      const secondPass: { id: string; load: LoadSpec }[] = [];

      if (first && wanted("read.cached")) {
        secondPass.push({ id: "read.cached", load: gets(api, CONNECTIONS, hot) });
        // Fill the cache: the first read of each id misses, every later one hits.
        const [backend, bare] = await Promise.all([
          baseline("grpc-redis", main.system.env),
          baseline("redis", main.system.env),
          getEach(api, hot),
        ]);
        const front = await baseline("grpc-front", main.system.env, { GRPC_BACKEND: `127.0.0.1:${backend.port}` });
        record(
          await compare(
            settings,
            {
              id: "read.cached",
              scenario: "read, cached",
              title: `GET /api/v1/products/{id}, cached (${hot.length.toLocaleString("en")} hot ids)`,
              size,
            },
            [
              {
                name: "system",
                description: "gateway -> gRPC -> reader -> Redis, telemetry on",
                load: gets(api, CONNECTIONS, hot),
                pids: { ...main.system.pids, ...options.servers },
              },
              {
                name: BASELINES.grpcRedis,
                description: "a bare Hono app calling a bare grpc-js server that does the same Redis HGETALL",
                load: gets(front.url, CONNECTIONS, hot),
              },
              {
                name: BASELINES.redis,
                description: "one bare Hono app doing the Redis HGETALL itself",
                load: gets(bare.url, CONNECTIONS, hot),
              },
            ],
            say,
          ),
        );
        await retire(ahead, front.stop, backend.stop, bare.stop);
      }

      if (runsUncached) {
        const uncached = await uncachedSystem();
        const ids = dataset.liveIds.map((id) => `/api/v1/products/${id}`);
        const findOne = await baseline("findone", uncached.system.env);
        record(
          await compare(
            settings,
            {
              id: `read.uncached.${sizeLabel}`,
              scenario: "read, uncached",
              title: `GET /api/v1/products/{id}, every read a cache miss (${sizeLabel})`,
              size,
            },
            [
              {
                name: "system",
                description: "gateway -> gRPC -> reader -> Redis miss -> read model",
                load: gets(uncached.system.urls.gateway, CONNECTIONS, ids),
                pids: { ...uncached.system.pids, ...options.servers },
              },
              {
                name: BASELINES.findOne,
                description: "a bare Hono app doing the same MongoDB findOne on the same server",
                load: gets(findOne.url, CONNECTIONS, ids),
              },
            ],
            say,
          ),
        );
        await retire(ahead, findOne.stop, uncached.stop);
      }

      if (searchIds.some(wanted)) {
        const find = await baseline("find", main.system.env);
        for (const shape of SEARCH_SHAPES) {
          const id = `search.${shapeId(shape)}.${sizeLabel}`;
          if (!wanted(id)) continue;
          const gaveUpAt = hopeless.get(shapeId(shape));
          if (gaveUpAt !== undefined) {
            // A shape that could not answer in time at a smaller size cannot at this one: said, not run.
            scenarios.push(
              notAttempted(
                { id, scenario: "search", title: `search: ${shape.title} (${sizeLabel})`, size },
                [`not attempted: it timed out at ${gaveUpAt}`],
                [BASELINES.find],
              ),
            );
            say(`  ${id}: not attempted (timed out at ${gaveUpAt})`);
            continue;
          }
          const shapePath = await searchPath(api, shape).catch((error: unknown) => {
            const why = error instanceof Error ? error.message : String(error);
            say(`  ${id}: not attempted (${why})`);
            scenarios.push(
              notAttempted(
                { id, scenario: "search", title: `search: ${shape.title} (${sizeLabel})`, size },
                [`not attempted: ${why}`],
                [BASELINES.find],
              ),
            );
            hopeless.set(shapeId(shape), sizeLabel);
            return undefined;
          });
          if (shapePath === undefined) continue;
          const outcome = await compare(
            settings,
            {
              id,
              scenario: "search",
              title: `search: ${shape.title} (${sizeLabel})`,
              size,
              notes: [`selectivity ≈ ${(shape.selectivity * 100).toFixed(1)}%`],
            },
            [
              {
                name: "system",
                description: "gateway -> gRPC -> reader -> read model",
                load: gets(api, CONNECTIONS, [shapePath]),
                pids: { ...main.system.pids, ...options.servers },
              },
              {
                name: BASELINES.find,
                description: "a bare Hono app running the same find (filter, sort, limit) on the same server",
                load: gets(find.url, CONNECTIONS, [shapePath]),
              },
            ],
            say,
          );
          record(outcome);
          // No answer in time at this size: larger sizes are reported, not run.
          if (outcome.result.system.median.timedOut || outcome.result.system.median.count === 0) {
            hopeless.set(shapeId(shape), sizeLabel);
          } else {
            secondPass.push({ id, load: gets(api, CONNECTIONS, [shapePath]) });
          }
        }
        await retire(ahead, find.stop);
      }

      if (runsWrites) {
        const { on, off, drizzleData } = await writeSystems();
        const drizzle = await baseline("drizzle", { ...on.system.env, ...drizzleData.env });
        if (wanted("create")) {
          const outcome = await compare(
            settings,
            { id: "create", scenario: "create", title: "POST /api/v1/products", size: undefined },
            [
              {
                name: "system",
                description: "gateway -> gRPC -> writer: row + outbox in one transaction, telemetry on",
                load: creates(on.system.urls.gateway, CONNECTIONS, newProduct, () => projectionCaughtUp(on.system)),
                pids: { ...on.system.pids, ...options.servers },
              },
              {
                name: BASELINES.drizzle,
                description: "a bare Hono app running the same Drizzle transaction (row + outbox row)",
                load: creates(drizzle.url, CONNECTIONS, newProduct),
              },
            ],
            say,
          );
          createRate = outcome.result.system.median.rate;
          record(outcome);
        }
        if (wanted("telemetry.create")) {
          record(
            await compare(
              settings,
              {
                id: "telemetry.create",
                scenario: "telemetry cost",
                title: "POST /api/v1/products, telemetry on vs off",
                size: undefined,
              },
              [
                {
                  name: "system",
                  description: "telemetry on (parent-based always-on sampling, OTLP to the trace store)",
                  load: creates(on.system.urls.gateway, CONNECTIONS, newProduct, () => projectionCaughtUp(on.system)),
                  pids: { ...on.system.pids, ...options.servers },
                },
                {
                  name: BASELINES.telemetryOff,
                  description: "the same services with OTEL_SDK_DISABLED=true",
                  load: creates(off.system.urls.gateway, CONNECTIONS, newProduct, () => projectionCaughtUp(off.system)),
                  pids: { ...off.system.pids, ...options.servers },
                },
              ],
              say,
            ),
          );
        }
        if (runsReadsOff) {
          const [readsOff] = await Promise.all([readsOffSystem(), getEach(api, hot)]);
          record(
            await compare(
              settings,
              {
                id: "telemetry.read",
                scenario: "telemetry cost",
                title: "GET /api/v1/products/{id} cached, telemetry on vs off",
                size,
              },
              [
                {
                  name: "system",
                  description: "telemetry on",
                  load: gets(api, CONNECTIONS, hot),
                  pids: { ...main.system.pids, ...options.servers },
                },
                {
                  name: BASELINES.telemetryOff,
                  description: "the same services with OTEL_SDK_DISABLED=true",
                  load: gets(readsOff.system.urls.gateway, CONNECTIONS, hot),
                },
              ],
              say,
            ),
          );
          await retire(ahead, readsOff.stop);
        }
        await retire(ahead, drizzle.stop, on.stop, off.stop);
      }

      if (last && wanted("lag")) {
        if (createRate === 0) {
          // Not measured in this run (--only lag): the lag's rate is half the create throughput, so
          // measure that first, one window on this system, and let the projection catch up.
          const probe = await measure(
            creates(main.system.urls.gateway, CONNECTIONS, newProduct),
            settings.windowSeconds,
          );
          await projectionCaughtUp(main.system);
          createRate = probe.rate;
          say(
            `lag: create throughput not measured in this run; one ${settings.windowSeconds} s window: ${Math.round(createRate)}/s`,
          );
        }
        const rate = Math.max(10, Math.round(createRate / 2));
        say(
          `lag: open-loop creates and updates at ${rate}/s (half the create throughput) for ${settings.lagSeconds} s at ${sizeLabel}`,
        );
        const lag = await lagUnderLoad(main.system, settings, rate, newProduct, dataset.liveIds, say);
        const rtt = await kafkaRoundTrip(
          main.system.config.kafka.brokers,
          `${main.system.config.kafka.topicPrefix}bench-rtt`,
          rate,
          Math.min(settings.lagSeconds, 20),
        );
        const meta = {
          id: "lag",
          scenario: "projection lag",
          title: `projection lag under ${rate}/s open-loop commands (${sizeLabel})`,
          size,
          notes: [
            "lag: from the writer's decision (just before its commit) to the projection's write, as the projection logs it",
          ],
        };
        const result = scenarioResult(
          meta,
          CONNECTIONS,
          "events/s",
          {
            name: "system",
            description: "writer -> outbox -> relay -> Kafka -> projection",
            rounds: [lag.window],
            median: lag.window,
          },
          [
            {
              name: BASELINES.kafka,
              description: "a raw produce -> consume round trip, same client, broker and settings",
              rounds: [rtt],
              median: rtt,
            },
          ],
        );
        result.series = { "lag (ms) by second": lag.series };
        scenarios.push(result);
      }

      if (last && wanted(`rebuild`)) {
        const figures = await rebuildCost(main.system, settings, dataset.liveIds, say);
        const meta = (id: string, title: string) => ({ id: `${id}.${sizeLabel}`, scenario: "rebuild", title, size });
        const subject = (name: string, description: string, window: Window) => ({
          name,
          description,
          rounds: [window],
          median: window,
        });
        const notes = [
          `${figures.result.differences.length} difference(s) from the live generation; ${figures.result.seconds.toFixed(1)} s from the claim to the verification`,
        ];
        scenarios.push(
          scenarioResult(
            { ...meta("rebuild", `npm run rebuild -- products: the copy from PostgreSQL (${sizeLabel})`), notes },
            1,
            "docs/s",
            subject("system", "the rebuild's copy: snapshot pages read, turned into documents, inserted", figures.copy),
            [subject(BASELINES.insertMany, "the same documents, insertMany a page at a time", figures.bare)],
          ),
          scenarioResult(
            meta("rebuild-reads", `GET /api/v1/products/{id} (cache misses) during a rebuild (${sizeLabel})`),
            settings.connections,
            "req/s",
            subject("system", "reads while the rebuild copies", figures.readsDuring),
            [subject(BASELINES.noRebuild, "the same reads just before it", figures.readsWithout)],
          ),
        );
      }

      samples.push(...(await memory(main.system, AFTER_THE_RUN)));
      if (secondPass.length > 0) {
        // The same services serve their reads once more: what a leak would grow. Compared at rest,
        // each sample after the services idled long enough for their memory trim to run.
        say(
          `  a second pass over the same reads, one ${settings.windowSeconds} s window each, between two rests of ${settings.restSeconds} s`,
        );
        await delay(settings.restSeconds * 1000);
        samples.push(...(await memory(main.system, AT_REST_AFTER_THE_RUN)));
        const failed: string[] = [];
        for (const { id, load } of secondPass) {
          const window = await measure(load, settings.windowSeconds);
          say(`  ${id} again ${Math.round(window.rate)}/s`);
          if (window.timedOut || window.count === 0 || hadFailures(window)) failed.push(id);
        }
        await delay(settings.restSeconds * 1000);
        // A pass that did not serve its reads proves nothing: no second sample, and the target misses.
        if (failed.length > 0) say(`  the second pass failed (${failed.join(", ")}): no memory sample after it`);
        else samples.push(...(await memory(main.system, AT_REST_AFTER_A_SECOND_PASS)));
      }
      // Last: the catch-up stops this system's reader and starts a fresh one on ports of its own,
      // which the gateway does not call, so every scenario that reads through the gateway (the
      // rebuild's reads among them) and the memory sample come before it.
      if (wanted(`catch-up.${sizeLabel}`) && (options.mode === "smoke" || size >= 10_000)) {
        const restart = async () => {
          const reader = await system(`bench_${sizeLabel}`, { telemetry: true, env: dataset.env, only: ["reader"] });
          return reader.system;
        };
        const result = await catchUp(main.system, restart, settings, dataset.liveIds, options.servers, say);
        const outcome = scenarioResult(
          {
            id: `catch-up.${sizeLabel}`,
            scenario: "projection catch-up",
            title: `catch-up: a backlog of ${settings.catchUpEvents} events from a standing start (${sizeLabel} documents)`,
            size,
          },
          1,
          "events/s",
          {
            name: "system",
            description: "a new reader applying the backlog",
            rounds: [result.window],
            median: result.window,
          },
          [],
        );
        outcome.series = { "applied events by second": result.series };
        scenarios.push(outcome);
        if (Object.keys(result.cpuPerEvent).length > 0)
          cpu.push({ scenario: outcome.id, byProcess: result.cpuPerEvent });
      }

      await main.stop();
    }
  } catch (error) {
    await undoAll();
    throw error;
  }
  await undoAll();

  const report: BenchReport = withTargets({
    format: 1,
    commit: options.commit,
    startedAt,
    finishedAt: new Date().toISOString(),
    mode: options.mode,
    machine: options.machine,
    configuration: { ...SETTINGS[options.mode], seed: SEED, only: options.only ?? null },
    scenarios,
    memory: samples,
    cpu,
  });
  console.log("");
  console.log(formatReport(report));
  const written = writeReport(report, options.outDir);
  say(`report: ${written.html}`);
  say(`json:   ${written.json}`);
  say(`the ${options.mode} run took ${((Date.now() - Date.parse(startedAt)) / 1000).toFixed(0)} s`);
  if (options.compare) {
    const earlier = JSON.parse(fs.readFileSync(options.compare, "utf8")) as BenchReport;
    console.log(compareReports(report, earlier));
  }
  if (profileDir) console.log(summariseProfiles(profileDir, profileNames));
  return 0;
}

/** A scenario that was not run, with why: reported (as timed out), never dropped. */
function notAttempted(
  meta: { id: string; scenario: string; title: string; size: number },
  notes: string[],
  baselines: string[],
): ScenarioResult {
  const empty = {
    rate: 0,
    latency: { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 },
    count: 0,
    seconds: 0,
    errors: 0,
    unexpected: {},
    timedOut: true,
  };
  const subject = (name: string) => ({ name, description: "not run", rounds: [], median: empty });
  return scenarioResult({ ...meta, notes }, CONNECTIONS, "req/s", subject("system"), baselines.map(subject));
}

/** The scenario id of a search shape: products-q -> q, users-q stays users-q. */
const shapeId = (shape: SearchShape) => shape.id.replace(/^products-/, "");

/** A search shape's path; the next page's cursor comes from the first page's answer. */
async function searchPath(api: string, shape: SearchShape): Promise<string> {
  if (shape.needsCursorFrom === undefined) return shape.path;
  const from = SEARCH_SHAPES.find((s) => s.id === shape.needsCursorFrom);
  if (!from) throw new Error(`search shape ${shape.id} needs ${shape.needsCursorFrom}`);
  const page = await eventually(
    `the first page of ${from.id}`,
    async () => {
      const response = await fetch(`${api}${from.path}`, { headers: await benchHeaders() });
      const body = (await response.json()) as { nextCursor?: string | null };
      return response.ok && typeof body.nextCursor === "string" ? body.nextCursor : undefined;
    },
    90_000,
  );
  return withCursor(shape.path, page);
}
