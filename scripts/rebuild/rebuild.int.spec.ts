// Rebuilds on the real servers: a system (writer, two reader replicas, a gateway over both) on its
// own data, products written through the API while generations are built, verified, switched and
// rolled back. The truth each time is PostgreSQL: every row's document as the projection writes it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { drizzle } from "drizzle-orm/postgres-js";
import { type Db, MongoClient } from "mongodb";
import postgres from "postgres";
import { createClient } from "redis";
import { rebuildSources } from "#functions/rebuild-registry.ts";
import { type Gateway, startGateway } from "#services/gateway/gateway.ts";
import { type Reader, startReader } from "#services/reader/reader.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { connectCache, type VersionedCache } from "#shared/read-side/cache.ts";
import { collectionName, type GenerationPointer, POINTERS } from "#shared/read-side/generations.ts";
import type { ReadModelDoc } from "#shared/read-side/versioned-projection.ts";
import * as schema from "#shared/write-side/db/schema.ts";
import { callJson } from "#tests/support/http.ts";
import { runScript } from "#tests/support/processes.ts";
import { eventually, startSystem, type TestSystem, testLog, UNREACHED_BUDGETS } from "#tests/support/system.ts";
import { documentOf } from "./copy.ts";
import { RebuildRefused } from "./pointer.ts";
import { dropPrevious, type RebuildContext, type RebuildOptions, rebuild, rebuildOne, rollback } from "./run.ts";

const source = rebuildSources.products;
if (!source) throw new Error("no rebuild source for products");
const ENV = { GENERATIONS_POLL_MS: "200" };

let system: TestSystem;
let second: Reader;
let gateway: Gateway;
let base = "";
let mongo: MongoClient;
let db: Db;
let sql: postgres.Sql;
let cache: VersionedCache;
let redis: ReturnType<typeof createClient>;
const said: string[] = [];

const context = (interrupted: () => boolean = () => false): RebuildContext => ({
  db,
  sql,
  cache,
  model: "products",
  source,
  say: (line) => said.push(line),
  interrupted,
});
const options = (extra: Partial<RebuildOptions> = {}): RebuildOptions => ({
  verifyOnly: false,
  acceptDifferences: false,
  rate: undefined,
  readersTimeoutMs: 20_000,
  pageSize: 1000,
  ...extra,
});

const pointer = () => db.collection<GenerationPointer>(POINTERS).findOne({ _id: "products" });
const liveCollection = async () =>
  db.collection<ReadModelDoc>(collectionName("products", (await pointer())?.live ?? 1));

let created = 0;
async function createProduct(): Promise<{ id: string; version: number }> {
  created++;
  const sent = await callJson(base, "POST", "/api/v1/products", {
    sku: `RB-${created}`,
    name: `Rebuilt ${created}`,
    description: "a product of the rebuild test",
    priceCents: 100 + created,
    currency: "EUR",
    stock: created,
    tags: ["rebuild", created % 2 === 0 ? "even" : "odd"],
  });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  return { id: String(sent.body.id), version: Number(sent.body.version) };
}

async function updateProduct(id: string): Promise<number> {
  const sent = await callJson(base, "PATCH", `/api/v1/products/${id}`, { stock: Math.floor(Math.random() * 1000) });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  return Number(sent.body.version);
}

/** Reads `id` back through the gateway (either reader) at `version` at least: read your writes. */
async function readBack(id: string, version: number): Promise<Record<string, unknown>> {
  const read = await callJson(base, "GET", `/api/v1/products/${id}`, undefined, { "X-Min-Version": String(version) });
  assert.equal(read.status, 200, `GET ${id} at ${version}: ${read.status} ${JSON.stringify(read.body)}`);
  return read.body;
}

/** Waits until the live generation holds exactly what PostgreSQL says, document by document. */
async function liveEqualsPostgres(): Promise<void> {
  const rows = await drizzle(sql, { schema }).select().from(schema.products);
  const truth = new Map(rows.map((row) => [row.id, documentOf(source as never, row)]));
  await eventually(
    "the live generation to equal PostgreSQL",
    async () => {
      const docs = await (await liveCollection()).find({}).toArray();
      if (docs.length !== truth.size) return undefined;
      return docs.every((doc) => isDeepStrictEqual(doc, truth.get(doc._id))) ? true : undefined;
    },
    20_000,
  );
}

/** Writes through the API until `stop` resolves: creates and updates, each read back. */
async function writeWhile(stop: Promise<unknown>): Promise<number> {
  let done = false;
  void stop.finally(() => {
    done = true;
  });
  let writes = 0;
  const ids: string[] = [];
  while (!done) {
    if (ids.length < 5 || writes % 2 === 0) {
      const { id, version } = await createProduct();
      ids.push(id);
      await readBack(id, version);
    } else {
      const id = ids[writes % ids.length] ?? "";
      await readBack(id, await updateProduct(id));
    }
    writes++;
  }
  return writes;
}

before(async () => {
  system = await startSystem("rebuild", ENV);
  const config = system.config;
  second = await startReader(
    loadConfig({ ...process.env, ...envOf(system), READER_PORT: "0", READER_HTTP_PORT: "0" }),
    testLog,
  );
  gateway = await startGateway(
    loadConfig({
      ...process.env,
      GATEWAY_PORT: "0",
      GATEWAY_METRICS_PORT: "0",
      ...UNREACHED_BUDGETS,
      WRITER_ADDRESS: `127.0.0.1:${system.writer.grpcPort}`,
      READER_ADDRESS: `127.0.0.1:${system.reader.grpcPort},127.0.0.1:${second.grpcPort}`,
    }),
    testLog,
  );
  base = gateway.url;
  mongo = new MongoClient(config.mongodb.url);
  await mongo.connect();
  db = mongo.db(config.mongodb.database);
  sql = postgres(config.postgres.url, { max: 2, onnotice: () => {} });
  cache = await connectCache({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    ttlSeconds: 300,
    log: testLog,
  });
  redis = createClient({ url: config.redis.url });
  await redis.connect();
  for (let i = 0; i < 12; i++) {
    const { id, version } = await createProduct();
    await readBack(id, version);
  }
});

/** The environment that makes a second reader of the same system (same data, group and topics). */
function envOf(running: TestSystem): Record<string, string> {
  const c = running.config;
  return {
    POSTGRES_URL: c.postgres.url,
    MONGODB_DATABASE: c.mongodb.database,
    KAFKA_TOPIC_PREFIX: c.kafka.topicPrefix,
    KAFKA_CONSUMER_GROUP: c.kafka.consumerGroup,
    REDIS_KEY_PREFIX: c.redis.keyPrefix,
    ...ENV,
  };
}

after(async () => {
  await gateway?.stop();
  await second?.stop();
  await cache?.close();
  redis?.destroy();
  await sql?.end({ timeout: 2 });
  await mongo?.close();
  await system?.stop();
});

describe("npm run rebuild", () => {
  test("under live writes through two reader replicas: switched, equal to PostgreSQL, every write read back", async () => {
    const run = rebuild(context(), options());
    const writes = writeWhile(run);
    const outcome = await run;
    const written = await writes;
    assert.equal(outcome.outcome, "switched", said.join("\n"));
    assert.deepEqual(outcome.differences, [], "generation 1 was right: nothing differs");
    assert.equal((await pointer())?.live, outcome.generation);
    assert.ok(written > 0, "writes went on during the rebuild");
    // Writes after the switch reach the new live generation, through both replicas.
    await writeWhile(new Promise((resolve) => setTimeout(resolve, 1000)));
    await liveEqualsPostgres();
  });

  test("a wrong document: verify reports exactly it, the switch needs --accept-differences, the cache then serves the right one", async () => {
    const live = await liveCollection();
    const [wrong, right] = await live.find({ deleted: false }).sort({ _id: 1 }).limit(2).toArray();
    assert.ok(wrong && right);
    // What a buggy projection would have written, and the cache filled with it.
    await live.updateOne({ _id: wrong._id }, { $set: { name: "WRONG" } });
    await redis.del(`${system.config.redis.keyPrefix}product:${wrong._id}`);
    assert.equal((await readBack(wrong._id, wrong.version)).name, "WRONG");
    await readBack(right._id, right.version);
    const rightKey = `${system.config.redis.keyPrefix}product:${right._id}`;
    assert.ok((await redis.hGet(rightKey, "b")) !== undefined, "the right document is cached");

    const liveBefore = (await pointer())?.live;
    const verified = await rebuild(context(), options({ verifyOnly: true }));
    assert.equal(verified.outcome, "differences");
    assert.deepEqual(
      verified.differences.map((d) => [d.id, d.kind, d.kind === "changed" ? d.fields.map((f) => f.field) : []]),
      [[wrong._id, "changed", ["name"]]],
    );
    assert.equal((await pointer())?.live, liveBefore, "--verify does not switch");

    const refused = await rebuild(context(), options());
    assert.equal(refused.outcome, "differences", "differences refuse the switch");
    assert.equal((await pointer())?.live, liveBefore);

    const switched = await rebuild(context(), options({ acceptDifferences: true }));
    assert.equal(switched.outcome, "switched");
    await eventually(
      "both readers to serve the corrected name",
      async () => {
        const names = await Promise.all([0, 1, 2, 3].map(async () => (await readBack(wrong._id, wrong.version)).name));
        return names.every((name) => name === (wrong as unknown as { name: string }).name) ? true : undefined;
      },
      10_000,
    );
    assert.ok((await redis.hGet(rightKey, "b")) !== undefined, "an unchanged document's cache entry stays");
    await liveEqualsPostgres();

    // Rollback: the previous generation (kept current by the readers) is live again, wrong name and all.
    const back = await rollback(context());
    assert.equal(back.outcome, "rolled back");
    assert.deepEqual(
      back.differences.map((d) => d.id),
      [wrong._id],
    );
    await eventually(
      "the readers to serve the previous generation again",
      async () => ((await readBack(wrong._id, wrong.version)).name === "WRONG" ? true : undefined),
      10_000,
    );
    // Writes since the switch reached it too: a rollback goes back to a current generation.
    const { id, version } = await createProduct();
    await readBack(id, version);
    await rollback(context());
    await dropPrevious(context());
    const names = (await db.listCollections().toArray()).map((c) => c.name);
    assert.ok(!names.includes(collectionName("products", back.generation)), "the previous generation is dropped");
    await liveEqualsPostgres();
  });

  test("--id rewrites one live document from its row and the cache serves it corrected", async () => {
    const live = await liveCollection();
    const [doc] = await live.find({ deleted: false }).sort({ _id: -1 }).limit(1).toArray();
    assert.ok(doc);
    const right = (doc as unknown as { name: string }).name;
    await live.updateOne({ _id: doc._id }, { $set: { name: "WRONG ONE" } });
    await redis.del(`${system.config.redis.keyPrefix}product:${doc._id}`);
    assert.equal((await readBack(doc._id, doc.version)).name, "WRONG ONE", "the wrong body is cached");
    const difference = await rebuildOne(context(), doc._id);
    assert.deepEqual(difference?.kind === "changed" ? difference.fields.map((f) => f.field) : difference, ["name"]);
    await eventually(
      "both readers to serve the rewritten document",
      async () => {
        const names = await Promise.all([0, 1, 2, 3].map(async () => (await readBack(doc._id, doc.version)).name));
        return names.every((name) => name === right) ? true : undefined;
      },
      10_000,
    );
    await liveEqualsPostgres();
  });

  test("an interrupted rebuild leaves the live generation untouched and resumes where it stopped", async () => {
    const liveBefore = (await pointer())?.live;
    let pages = 0;
    const first = await rebuild(
      context(() => pages >= 1),
      options({ pageSize: 5, onPage: () => void pages++ }),
    );
    assert.equal(first.outcome, "interrupted");
    const parked = await pointer();
    assert.equal(parked?.live, liveBefore, "the live generation is untouched");
    assert.equal(parked?.building?.copied, 5);
    const resumed = await rebuild(context(), options({ pageSize: 5 }));
    assert.equal(resumed.outcome, "switched");
    assert.equal(resumed.generation, first.generation, "the same generation, resumed");
    assert.ok(said.some((line) => line.startsWith("resuming the rebuild of products")));
    await liveEqualsPostgres();
  });

  test("a second rebuild while one runs is refused, from the command line too", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const running = rebuild(context(), options({ pageSize: 5, onPage: () => held }));
    await eventually(
      "the first rebuild to copy",
      async () => ((await pointer())?.building?.copied ? true : undefined),
      20_000,
    );
    await assert.rejects(rebuild(context(), options()), RebuildRefused);
    const cli = await runCli(["products"]);
    assert.equal(cli.code, 1, cli.output);
    assert.match(cli.output, /a rebuild of products is already running/);
    release();
    assert.equal((await running).outcome, "switched");
  });

  test("--rate holds the copy to that many documents a second", async () => {
    const rows = await sql<{ n: string }[]>`select count(*) as n from products`;
    const total = Number(rows[0]?.n ?? 0);
    assert.ok(total >= 20, `enough rows to throttle: ${total}`);
    const rate = 40;
    const throttled = await rebuild(context(), options({ rate, pageSize: 5 }));
    assert.equal(throttled.outcome, "switched", said.join("\n"));
    assert.equal(throttled.documents, total);
    // The copy waits after each page until its documents are due at `rate`: never faster.
    assert.ok(throttled.rate <= rate * 1.02, `${throttled.rate.toFixed(1)} documents a second`);
  });

  test("users rebuild right, a deleted one as a tombstone without personal data", async () => {
    const ids: string[] = [];
    for (const name of ["Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"]) {
      const sent = await callJson(base, "POST", "/api/v1/users", { email: `${name.split(" ")[0]}@rebuild.test`, name });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      ids.push(String(sent.body.id));
    }
    const gone = await callJson(base, "DELETE", `/api/v1/users/${ids[0]}`);
    assert.equal(gone.status, 204);
    await eventually(
      "the deletion projected",
      async () => ((await db.collection("users").findOne({ _id: ids[0] as never }))?.deleted ? true : undefined),
      10_000,
    );
    const users = rebuildSources.users;
    assert.ok(users);
    const rebuilt = await rebuild({ ...context(), model: "users", source: users }, options());
    assert.equal(rebuilt.outcome, "switched", said.join("\n"));
    assert.deepEqual(rebuilt.differences, []);
    const tombstone = await db
      .collection(collectionName("users", rebuilt.generation))
      .findOne({ _id: ids[0] as never });
    assert.deepEqual(tombstone, { _id: ids[0], version: 2, deleted: true });
  });

  test("after all these rebuilds only the live and the previous generations' collections remain", async () => {
    const now = await pointer();
    assert.ok(now && now.previous !== undefined && now.building === undefined);
    const names = (await db.listCollections().toArray()).map((c) => c.name).filter((n) => /^products(_g\d+)?$/.test(n));
    assert.deepEqual(
      names.sort(),
      [collectionName("products", now.live), collectionName("products", now.previous)].sort(),
    );
    assert.ok((now.highest ?? 0) >= now.live, "generation numbers come from highest");
  });

  test("the command line refuses bad arguments with status 2", async () => {
    for (const args of [[], ["nothing"], ["products", "--rate", "0"], ["products", "--rollback", "--verify"]]) {
      const cli = await runCli(args);
      assert.equal(cli.code, 2, `${args.join(" ")}: ${cli.output}`);
      assert.match(cli.output, /^rebuild: .*\(--help shows the usage\)/m);
    }
  });
});

const runCli = (args: string[]) => runScript("scripts/rebuild.ts", args, { env: envOf(system) });
