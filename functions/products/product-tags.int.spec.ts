// The product tags read model on a real system: GET /api/v1/product-tags counts live products per
// tag through creates, tag changes and deletes; built from history (PostgreSQL) by the rebuild path
// when its collections are new; and left exactly right by duplicates and a replay of the topic.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MongoClient } from "mongodb";
import postgres from "postgres";
import { rebuildSources } from "#functions/rebuild-registry.ts";
import { deleteGroups, readWholeTopic } from "#scripts/kafka-topics.ts";
import { rebuild } from "#scripts/rebuild/run.ts";
import { topicFor } from "#shared/platform/events.ts";
import { connectProducer, kafkaClient } from "#shared/platform/kafka.ts";
import { connectCache, type VersionedCache } from "#shared/read-side/cache.ts";
import { callJson } from "#tests/support/http.ts";
import { eventually, startSystem, type TestSystem, testLog } from "#tests/support/system.ts";
import { COLLECTION as PRODUCTS } from "./product-read-model.ts";
import { MEMBERS, TAGS } from "./product-tags-read-model.ts";

let system: TestSystem;
let mongo: MongoClient;
let sql: postgres.Sql;
let cache: VersionedCache;
/** What the tags must count: product id -> its tags while live. */
const live = new Map<string, string[]>();

/** The listing the live products imply: by count, then by tag. */
function expected(): { tag: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const tags of live.values()) for (const tag of new Set(tags)) counts.set(tag, (counts.get(tag) ?? 0) + 1);
  return [...counts]
    .map(([tag, count]) => ({ tag, count }))
    .sort((a, b) => b.count - a.count || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}

async function listed(): Promise<unknown> {
  const answer = await callJson(system.url, "GET", "/api/v1/product-tags");
  return answer.status === 200 ? answer.body.items : answer.status;
}

async function tagsAreRight(what: string): Promise<void> {
  await eventually(what, async () => {
    const items = await listed();
    return JSON.stringify(items) === JSON.stringify(expected()) ? true : undefined;
  });
}

let made = 0;
async function create(tags: string[]): Promise<string> {
  made++;
  const sent = await callJson(system.url, "POST", "/api/v1/products", {
    sku: `TAGS-${made}`,
    name: `Tagged ${made}`,
    priceCents: 100,
    currency: "EUR",
    tags,
  });
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  const id = String(sent.body.id);
  live.set(id, tags);
  return id;
}

before(async () => {
  system = await startSystem("product_tags", { GENERATIONS_POLL_MS: "200" });
  mongo = new MongoClient(system.config.mongodb.url);
  await mongo.connect();
  sql = postgres(system.config.postgres.url, { max: 2, onnotice: () => {} });
  cache = await connectCache({
    url: system.config.redis.url,
    keyPrefix: system.config.redis.keyPrefix,
    ttlSeconds: 300,
    log: testLog,
  });
});

after(async () => {
  await cache?.close();
  await sql?.end({ timeout: 2 });
  await mongo?.close();
  await system?.stop();
});

describe("product tags", () => {
  test("counts live products per tag, by count then name, through creates, tag changes and deletes", async () => {
    const a = await create(["garden", "tools"]);
    await create(["garden"]);
    await create(["kitchen", "garden"]);
    const d = await create(["tools", "zinc", "zinc"]);
    await tagsAreRight("the first counts");
    const changed = await callJson(system.url, "PATCH", `/api/v1/products/${a}`, { tags: ["kitchen"] });
    assert.equal(changed.status, 200);
    live.set(a, ["kitchen"]);
    const gone = await callJson(system.url, "DELETE", `/api/v1/products/${d}`);
    assert.equal(gone.status, 204);
    live.delete(d);
    await tagsAreRight("the counts after a tag change and a delete");
    assert.deepEqual(await listed(), [
      { tag: "garden", count: 2 },
      { tag: "kitchen", count: 2 },
    ]);
    const limited = await callJson(system.url, "GET", "/api/v1/product-tags?limit=1");
    assert.deepEqual(limited.body.items, [{ tag: "garden", count: 2 }]);
    const bad = await callJson(system.url, "GET", "/api/v1/product-tags?limit=0");
    assert.equal(bad.status, 400);
  });

  test("a new read model is built from history by the rebuild, then kept current by its projection", async () => {
    // As if the read model were new: nothing projected yet, while the products exist.
    const db = mongo.db(system.config.mongodb.database);
    await db.collection(MEMBERS).deleteMany({});
    await db.collection(TAGS).deleteMany({});
    assert.deepEqual(await listed(), []);
    const source = rebuildSources[MEMBERS];
    assert.ok(source);
    const said: string[] = [];
    const built = await rebuild(
      { db, sql, cache, model: MEMBERS, source, say: (line) => said.push(line), interrupted: () => false },
      { verifyOnly: false, acceptDifferences: true, rate: undefined, readersTimeoutMs: 20_000, pageSize: 1000 },
    );
    assert.equal(built.outcome, "switched", said.join("\n"));
    assert.ok(built.differences.length > 0, "the empty live generation differed");
    await tagsAreRight("the counts from history");
    await create(["garden", "new"]);
    await tagsAreRight("the counts after a create, on the rebuilt generation");
    // The products read model is not touched by rebuilding the tags.
    assert.equal(await db.collection(PRODUCTS).countDocuments({ deleted: false }), live.size);
  });

  test("duplicates and a replay of the whole topic leave every count as it is", async () => {
    const kafka = kafkaClient(system.config.kafka.brokers, "product-tags-test");
    const topic = topicFor(system.config.kafka.topicPrefix, "product");
    const group = `${system.config.kafka.consumerGroup}.tags-test`;
    const history = await readWholeTopic(kafka, topic, group).finally(() => deleteGroups(kafka, [group]));
    assert.ok(history.length >= 7);
    const before = system.reader.projections.stats();
    const producer = await connectProducer(kafka);
    try {
      // Every event twice more, the second time newest first.
      for (const batch of [history, [...history].reverse()]) {
        await producer.send({
          topic,
          messages: batch.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
        });
      }
    } finally {
      await producer.disconnect();
    }
    await eventually("the duplicates consumed", async () => {
      const now = system.reader.projections.stats();
      return now.stale + now.applied - before.stale - before.applied >= 2 * history.length ? true : undefined;
    });
    assert.equal(system.reader.projections.stats().applied, before.applied, "nothing newer applied");
    await tagsAreRight("the counts after the replays");
  });
});
