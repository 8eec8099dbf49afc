// The product projection against the real Kafka, MongoDB wire (FerretDB) and Redis, fed hand-made
// envelopes straight onto the topic: out-of-order and duplicate deliveries apply only the newest
// version, a replay cannot resurrect a tombstone, poison messages go to the dead-letter topic with
// their origin while the partition moves on, the version-guarded cache never keeps an older version
// than the projection applied, and the runner's stats count exactly what was sent.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MongoClient } from "mongodb";
import { v7 as uuidv7 } from "uuid";
import * as v from "valibot";
import { deleteGroups, readWholeTopic, type TopicMessage } from "#scripts/kafka-topics.ts";
import { type Reader, startReader } from "#services/reader/reader.ts";
import { DomainError } from "#shared/platform/errors.ts";
import { deadLetterTopicFor, type EventEnvelope, type EventTypeOf, topicFor } from "#shared/platform/events.ts";
import { connectProducer, kafkaClient, type Producer } from "#shared/platform/kafka.ts";
import { cleanUp, eventually, testConfig, testLog } from "#tests/support/system.ts";
import { getProductHandler as getProduct } from "./get-product/get-product.handler.ts";
import { eventData, type ProductState } from "./product.ts";
import { productEvents } from "./product-events.ts";

type ProductEventType = EventTypeOf<typeof productEvents>;

import { CACHE_KIND, type ProductDoc, productProjection } from "./product-read-model.ts";

const config = testConfig("product_projection_int");
const topic = topicFor(config.kafka.topicPrefix, "product");
const dlqTopic = deadLetterTopicFor(topic);
const kafka = kafkaClient(config.kafka.brokers, "product-projection-int-spec");

let reader: Reader | undefined;
let producer: Producer | undefined;
let mongo: MongoClient | undefined;
/** The consumer groups this file created to read a topic, deleted in `after`. */
const verifyGroups: string[] = [];
/** What the runner's stats must add up to: every message this file sent, by its fate. */
const sent = { applied: 0, stale: 0, deadLettered: 0 };

before(async () => {
  reader = await startReader(config, testLog);
  producer = await connectProducer(kafka);
  mongo = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  await mongo.connect();
});

after(async () => {
  await producer?.disconnect();
  await reader?.stop();
  await mongo?.close();
  await deleteGroups(kafka, verifyGroups);
  await cleanUp(config);
});

function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} did not start`);
  return value;
}

function state(id: string, version: number, deleted = false): ProductState {
  return {
    id,
    sku: `SKU-${id.slice(-6)}`,
    name: `Name v${version}`,
    description: `Description v${version}`,
    priceCents: 100 * version,
    currency: "EUR",
    stock: version,
    tags: [`v${version}`],
    version,
    createdAt: new Date("2024-01-01T00:00:00Z"),
    updatedAt: new Date(Date.UTC(2024, 0, 1, 0, version)),
    deleted,
  };
}

function envelope(type: ProductEventType | string, product: ProductState): EventEnvelope {
  return {
    eventId: uuidv7(),
    type,
    aggregateId: product.id,
    version: product.version,
    occurredAt: product.updatedAt.toISOString(),
    // An unknown type (a poison message) gets version 1.
    schemaVersion: Object.hasOwn(productEvents.types, type) ? productEvents.types[type as ProductEventType].version : 1,
    data: eventData(product),
  };
}

interface Origin {
  partition: number;
  offset: string;
}

/** Produces one message to the product topic, keyed by product id; where it landed. */
async function send(key: string, value: string, type?: string): Promise<Origin> {
  const [meta] = await started(producer, "producer").send({
    topic,
    messages: [{ key, value, headers: type === undefined ? {} : { "event-type": type } }],
  });
  assert.ok(meta?.baseOffset !== undefined, "the broker acknowledged the message");
  return { partition: meta.partition, offset: meta.baseOffset };
}

const sendEvent = (event: EventEnvelope) => send(event.aggregateId, JSON.stringify(event), event.type);

function readModelDoc(id: string): Promise<ProductDoc | null> {
  return started(mongo, "mongo").db(config.mongodb.database).collection<ProductDoc>("products").findOne({ _id: id });
}

type Stats = ReturnType<Reader["projections"]["stats"]>;

/** Waits until the runner has finished `count` more messages than at `base`; the stats then. */
async function processed(base: Stats, count: number): Promise<Stats> {
  const runner = started(reader, "reader").projections;
  const done = (s: Stats) => s.applied + s.stale + s.deadLettered - (base.applied + base.stale + base.deadLettered);
  try {
    return await eventually(`${count} messages processed`, async () => {
      const now = runner.stats();
      return done(now) >= count ? now : undefined;
    });
  } catch (error) {
    throw new Error(`${String(error)}; stats ${JSON.stringify(runner.stats())}, base ${JSON.stringify(base)}`);
  }
}

function delta(after: Stats, before: Stats) {
  return {
    applied: after.applied - before.applied,
    stale: after.stale - before.stale,
    deadLettered: after.deadLettered - before.deadLettered,
    retries: after.retries - before.retries,
  };
}

function expect(fates: { applied?: number; stale?: number; deadLettered?: number }) {
  sent.applied += fates.applied ?? 0;
  sent.stale += fates.stale ?? 0;
  sent.deadLettered += fates.deadLettered ?? 0;
  return { applied: 0, stale: 0, deadLettered: 0, retries: 0, ...fates };
}

/** Reads `name` from the beginning to its current end with a fresh consumer group. */
function readTopic(name: string): Promise<TopicMessage[]> {
  const groupId = `${config.kafka.topicPrefix}verify-${verifyGroups.length}`;
  verifyGroups.push(groupId);
  return readWholeTopic(kafka, name, groupId);
}

const isNotFound = (error: unknown) => {
  assert.ok(error instanceof DomainError, `a DomainError, got ${String(error)}`);
  assert.equal(error.code, "not_found");
  return true;
};

const Product = v.object({
  product: v.object({ id: v.string(), version: v.number(), name: v.string(), priceCents: v.number() }),
});

describe("product projection", () => {
  test("out-of-order and duplicate deliveries leave the newest version", async () => {
    const runner = started(reader, "reader").projections;
    const id = uuidv7();
    const v3 = envelope("ProductUpdated", state(id, 3));
    const base = runner.stats();
    await sendEvent(v3);
    await sendEvent(envelope("ProductCreated", state(id, 1)));
    await sendEvent(v3); // the same event delivered twice
    await sendEvent(envelope("ProductUpdated", state(id, 2)));
    const now = await processed(base, 4);
    assert.deepEqual(delta(now, base), expect({ applied: 1, stale: 3 }));

    const doc = await readModelDoc(id);
    assert.ok(doc, "the product is in the read model");
    assert.equal(doc.version, 3);
    assert.equal(doc.deleted, false);
    assert.equal(doc.name, "Name v3");
    assert.equal(doc.description, "Description v3");
    assert.equal(doc.priceCents, 300);
    assert.equal(doc.stock, 3);
    assert.deepEqual(doc.tags, ["v3"]);
    assert.equal(doc.updatedAt, state(id, 3).updatedAt.toISOString());
  });

  test("a replayed create after a delete does not resurrect the product", async () => {
    const { projections: runner, deps } = started(reader, "reader");
    const id = uuidv7();
    const created = envelope("ProductCreated", state(id, 1));
    let base = runner.stats();
    await sendEvent(created);
    // One at a time: in one batch the create would be superseded by the delete, never written.
    let now = await processed(base, 1);
    assert.deepEqual(delta(now, base), expect({ applied: 1 }));
    base = now;
    await sendEvent(envelope("ProductDeleted", state(id, 2, true)));
    now = await processed(base, 1);
    assert.deepEqual(delta(now, base), expect({ applied: 1 }));
    assert.deepEqual(await readModelDoc(id), { _id: id, version: 2, deleted: true }, "a tombstone");

    base = now;
    await sendEvent(created); // the replay
    now = await processed(base, 1);
    assert.deepEqual(delta(now, base), expect({ stale: 1 }));
    assert.deepEqual(await readModelDoc(id), { _id: id, version: 2, deleted: true }, "still the tombstone");
    await assert.rejects(getProduct.invoke(deps, { id }), isNotFound);
  });

  test("poison messages go to the dead-letter topic and the partition moves on", async () => {
    const { projections: runner, deps } = started(reader, "reader");
    const id = uuidv7();
    const unknownType = envelope("ProductExploded", state(id, 1));
    const poison = [
      { value: "{not json", reason: /not JSON/ },
      { value: JSON.stringify({ hello: "world" }), reason: /not an event envelope/ },
      { value: JSON.stringify(unknownType), reason: /unknown event type ProductExploded/ },
    ];
    const base = runner.stats();
    const origins: Origin[] = [];
    for (const message of poison) origins.push(await send(id, message.value));
    const next = await sendEvent(envelope("ProductCreated", state(id, 1)));
    assert.ok(
      origins.every((o) => o.partition === next.partition),
      "one key, one partition",
    );

    const now = await processed(base, 4);
    assert.deepEqual(delta(now, base), expect({ deadLettered: 3, applied: 1 }));
    const doc = await readModelDoc(id);
    assert.equal(doc?.version, 1, "the message after the poison was applied");
    assert.equal(doc?.name, "Name v1");
    const read = v.parse(Product, await getProduct.invoke(deps, { id }));
    assert.equal(read.product.version, 1);

    const dead = await readTopic(dlqTopic);
    assert.equal(dead.length, poison.length, "exactly the poison messages are dead-lettered");
    poison.forEach((message, i) => {
      const letter = dead[i];
      const origin = origins[i];
      assert.ok(letter && origin);
      assert.equal(letter.key, id);
      assert.equal(letter.value, message.value, "the original value, untouched");
      assert.match(letter.headers["dlq-reason"] ?? "", message.reason);
      assert.equal(letter.headers["dlq-origin-topic"], topic);
      assert.equal(letter.headers["dlq-origin-partition"], String(origin.partition));
      assert.equal(letter.headers["dlq-origin-offset"], origin.offset);
    });
  });

  test("a cache fill racing an invalidation never leaves an older version cached", async () => {
    const { projections: runner, deps } = started(reader, "reader");
    const { cache } = deps;
    const id = uuidv7();
    const body = (version: number) => JSON.stringify({ id, version, name: `Name v${version}` });

    assert.equal(await cache.fill(CACHE_KIND, id, 1, body(1), 0), true, "a first fill is stored");
    assert.deepEqual(await cache.get(CACHE_KIND, id), { version: 1, body: body(1) });
    assert.equal(await cache.invalidate(CACHE_KIND, id, 2), true, "the projection applied v2");
    assert.equal(await cache.get(CACHE_KIND, id), undefined, "v1 is gone");
    assert.equal(await cache.fill(CACHE_KIND, id, 1, body(1), 0), false, "a late fill of v1 is refused");
    const afterLateFill = await cache.get(CACHE_KIND, id);
    assert.ok(
      afterLateFill === undefined || afterLateFill.version === 2,
      `nothing or v2, got ${afterLateFill?.version}`,
    );
    assert.equal(await cache.fill(CACHE_KIND, id, 2, body(2), 0), true, "a fill of v2 is stored");
    assert.deepEqual(await cache.get(CACHE_KIND, id), { version: 2, body: body(2) });

    // The real path: the projection applies v3 and drops the cached v2.
    const base = runner.stats();
    await sendEvent(envelope("ProductUpdated", state(id, 3)));
    const now = await processed(base, 1);
    assert.deepEqual(delta(now, base), expect({ applied: 1 }));
    const afterProjection = await cache.get(CACHE_KIND, id);
    assert.ok(
      afterProjection === undefined || afterProjection.version === 3,
      `the cache no longer returns v2, got ${afterProjection?.version}`,
    );

    const read = v.parse(Product, await getProduct.invoke(deps, { id }));
    assert.deepEqual(read.product, { id, version: 3, name: "Name v3", priceCents: 300 });
    const filled = await cache.get(CACHE_KIND, id);
    assert.equal(filled?.version, 3, "the query filled the cache with v3");
    assert.deepEqual(v.parse(Product.entries.product, JSON.parse(filled?.body ?? "null")), read.product);
  });

  test("a batch writes the newest version of each id once; older ones in it are stale", async () => {
    const { deps } = started(reader, "reader");
    const id = uuidv7();
    const outcomes = await productProjection.applyBatch(deps, [
      envelope("ProductCreated", state(id, 1)),
      envelope("ProductUpdated", state(id, 3)),
      envelope("ProductUpdated", state(id, 2)),
    ]);
    assert.deepEqual(outcomes, ["stale", "applied", "stale"]);
    assert.equal((await readModelDoc(id))?.version, 3);
  });

  test("a batch where some writes are stale applies the others, and invalidates exactly those", async () => {
    const { deps } = started(reader, "reader");
    const { cache } = deps;
    const [ahead, behind, fresh] = [uuidv7(), uuidv7(), uuidv7()];
    assert.deepEqual(
      await productProjection.applyBatch(deps, [
        envelope("ProductUpdated", state(ahead, 5)),
        envelope("ProductCreated", state(behind, 1)),
      ]),
      ["applied", "applied"],
    );
    const body = (id: string, version: number) => JSON.stringify({ id, version });
    assert.equal(await cache.fill(CACHE_KIND, ahead, 5, body(ahead, 5), 0), true);
    assert.equal(await cache.fill(CACHE_KIND, behind, 1, body(behind, 1), 0), true);

    // The stale write in the middle: the bulk write must say which one failed, not just that one did.
    const outcomes = await productProjection.applyBatch(deps, [
      envelope("ProductUpdated", state(behind, 2)),
      envelope("ProductUpdated", state(ahead, 3)), // older than the read model's v5: E11000 in the bulk write
      envelope("ProductCreated", state(fresh, 1)),
    ]);
    assert.deepEqual(outcomes, ["applied", "stale", "applied"]);
    assert.equal((await readModelDoc(ahead))?.version, 5, "the newer version stays");
    assert.equal((await readModelDoc(behind))?.version, 2);
    assert.equal((await readModelDoc(fresh))?.version, 1);
    assert.deepEqual(
      await cache.get(CACHE_KIND, ahead),
      { version: 5, body: body(ahead, 5) },
      "a stale write invalidates nothing",
    );
    assert.equal(await cache.get(CACHE_KIND, behind), undefined, "an applied write drops the cached older version");
  });

  test("a full batch (PROJECTION_BATCH_SIZE events, some ids twice) is written in one go", async () => {
    const { deps } = started(reader, "reader");
    const ids = Array.from({ length: config.reader.projectionBatchSize - 20 }, () => uuidv7());
    const events = [
      ...ids.map((id) => envelope("ProductCreated", state(id, 1))),
      ...ids.slice(0, 20).map((id) => envelope("ProductUpdated", state(id, 2))),
    ];
    const outcomes = await productProjection.applyBatch(deps, events);
    assert.equal(outcomes.filter((o) => o === "applied").length, ids.length);
    assert.equal(outcomes.filter((o) => o === "stale").length, 20);
    assert.equal((await readModelDoc(ids[0] ?? ""))?.version, 2);
    assert.equal((await readModelDoc(ids.at(-1) ?? ""))?.version, 1);
  });

  test("a batch written as several bulk writes at once says which writes were stale in each", async () => {
    const { deps } = started(reader, "reader");
    // 70 writes: more than one slice (versioned-projection.ts), stale ones in the first, a middle and the last.
    const ids = Array.from({ length: 70 }, () => uuidv7());
    const ahead = new Set([0, 5, 40, 69]);
    await productProjection.applyBatch(
      deps,
      ids.map((id, k) => envelope("ProductCreated", state(id, ahead.has(k) ? 4 : 1))),
    );
    const outcomes = await productProjection.applyBatch(
      deps,
      ids.map((id) => envelope("ProductUpdated", state(id, 2))),
    );
    assert.deepEqual(
      outcomes,
      ids.map((_id, k) => (ahead.has(k) ? "stale" : "applied")),
    );
    const versions = await Promise.all(ids.map(async (id) => (await readModelDoc(id))?.version));
    assert.deepEqual(
      versions,
      ids.map((_id, k) => (ahead.has(k) ? 4 : 2)),
    );
  });

  test("a poison event in a batch fails only itself", async () => {
    const { deps } = started(reader, "reader");
    const [first, second] = [uuidv7(), uuidv7()];
    const outcomes = await productProjection.applyBatch(deps, [
      envelope("ProductCreated", state(first, 1)),
      envelope("ProductExploded", state(uuidv7(), 1)),
      { ...envelope("ProductCreated", state(second, 1)), version: 7 },
      envelope("ProductCreated", state(second, 1)),
    ]);
    assert.deepEqual(outcomes, [
      "applied",
      { poison: "unknown event type ProductExploded" },
      { poison: "data.id and data.version must match the envelope" },
      "applied",
    ]);
    assert.equal((await readModelDoc(first))?.version, 1);
    assert.equal((await readModelDoc(second))?.version, 1);
  });

  test("concurrent misses on one hot key make one read-model query, and all get its answer", async () => {
    const { deps } = started(reader, "reader");
    const id = uuidv7();
    await productProjection.applyBatch(deps, [envelope("ProductCreated", state(id, 1))]);
    assert.equal(await deps.cache.get(CACHE_KIND, id), undefined, "not cached yet");
    // The same read model through a client that reports every command it sends.
    const watched = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000, monitorCommands: true });
    const finds: unknown[] = [];
    watched.on("commandStarted", (event) => {
      if (event.commandName === "find" && event.command.filter?._id === id) finds.push(event.command);
    });
    await watched.connect();
    try {
      const watchedDeps = { ...deps, readModel: watched.db(deps.readModel.databaseName) };
      const answers = await Promise.all(Array.from({ length: 20 }, () => getProduct.invoke(watchedDeps, { id })));
      assert.equal(finds.length, 1, "one findOne for twenty concurrent misses");
      for (const answer of answers) assert.equal(v.parse(Product, answer).product.version, 1);
      assert.equal((await deps.cache.get(CACHE_KIND, id))?.version, 1, "the one query filled the cache");
    } finally {
      await watched.close();
    }
  });

  test("the runner's stats count exactly what was sent", async () => {
    // Retries are left out: a transient FerretDB error under load is retried, as it should be.
    const { retries: _, ...stats } = started(reader, "reader").projections.stats();
    assert.deepEqual(stats, sent);
    assert.deepEqual(sent, { applied: 5, stale: 4, deadLettered: 3 }, "the messages this file sent through Kafka");
  });
});
