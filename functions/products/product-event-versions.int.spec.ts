// Schema version 2 of the product events (product-events.ts) on the real servers, and its rollout:
// a reader that knows only version 1 dead-letters a version-2 event, and once upgraded the replay
// applies it; a topic holding both versions projects exactly the read model of version-2 events
// alone (upcasters[1] on the way in).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MongoClient } from "mongodb";
import { v7 as uuidv7 } from "uuid";
import * as v from "valibot";
import { DeadLetters } from "#scripts/dlq/dead-letters.ts";
import { connectReaderDeps, projectionSettings } from "#services/reader/reader.ts";
import type { Config } from "#shared/platform/config.ts";
import { defineEvents, type EventEnvelope, topicFor } from "#shared/platform/events.ts";
import { connectProducer, kafkaClient, type Producer } from "#shared/platform/kafka.ts";
import type { Projection } from "#shared/read-side/projection.ts";
import { type ProjectionRunner, startProjections } from "#shared/read-side/projection-consumer.ts";
import { normalise, wordPrefixes } from "#shared/read-side/text.ts";
import { versionedProjection } from "#shared/read-side/versioned-projection.ts";
import { cleanUp, eventually, testConfig, testLog } from "#tests/support/system.ts";
import { eventData, type ProductState } from "./product.ts";
import { productEvents } from "./product-events.ts";
import { CACHE_KIND, COLLECTION, INDEXES, productProjection, products } from "./product-read-model.ts";

/** The product events as version 1 declared them: the price as priceCents and currency. */
const eventsV1 = defineEvents({
  aggregateType: "product",
  types: { ProductCreated: { version: 1 }, ProductUpdated: { version: 1 }, ProductDeleted: { version: 1 } },
  data: v.object({
    id: v.string(),
    sku: v.string(),
    name: v.string(),
    description: v.string(),
    priceCents: v.number(),
    currency: v.string(),
    stock: v.number(),
    tags: v.array(v.string()),
    version: v.number(),
    createdAt: v.string(),
    updatedAt: v.string(),
    deleted: v.boolean(),
  }),
});

/** A reader before the upgrade: its projection knows version 1 only. */
const projectionV1 = versionedProjection({
  events: eventsV1,
  model: COLLECTION,
  collection: products,
  cacheKind: CACHE_KIND,
  indexes: INDEXES,
  toDoc: ({ id: _id, deleted: _deleted, version: _version, ...fields }) => ({
    ...fields,
    prefixes: wordPrefixes(fields.name, fields.description),
    sortName: normalise(fields.name),
  }),
});

const mixed = testConfig("event_versions_mixed");
const current = testConfig("event_versions_v2");
const readers: { runner: ProjectionRunner; close(): Promise<void> }[] = [];
let producer: Producer;
let mongo: MongoClient;

async function startReaderOf(config: Config, projections: Projection[]) {
  const { deps, close } = await connectReaderDeps(config, testLog);
  const runner = await startProjections({
    kafka: kafkaClient(config.kafka.brokers, "event-versions-test"),
    ...projectionSettings(config),
    projections,
    deps,
    log: testLog,
  });
  const reader = {
    runner,
    async close() {
      await runner.stop();
      await close();
    },
  };
  readers.push(reader);
  await eventually("the reader's partitions", async () => (runner.assigned() > 0 ? true : undefined), 60_000);
  return reader;
}

function state(id: string, version: number, deleted = false): ProductState {
  return {
    id,
    sku: `SKU-${id.slice(-6)}`,
    name: `Product v${version}`,
    description: "a product whose events changed schema",
    priceCents: 250 * version,
    currency: version % 2 === 0 ? "JPY" : "EUR",
    stock: version,
    tags: [`v${version}`],
    version,
    createdAt: new Date("2026-01-01T00:00:00Z"),
    updatedAt: new Date(Date.UTC(2026, 0, 1, 0, version)),
    deleted,
  };
}

const typeOf = (s: ProductState) =>
  s.deleted ? "ProductDeleted" : s.version === 1 ? "ProductCreated" : "ProductUpdated";

/** The event as today's writer writes it: envelope version 2, data at schema version 2. */
function envelopeV2(s: ProductState): EventEnvelope {
  return {
    envelopeVersion: 2,
    eventId: uuidv7(),
    type: typeOf(s),
    aggregateId: s.id,
    version: s.version,
    occurredAt: s.updatedAt.toISOString(),
    schemaVersion: productEvents.types[typeOf(s)].version,
    data: eventData(s),
    metadata: {},
  };
}

/** The event as the writer wrote it before: no envelope version or metadata, data at schema version 1. */
function envelopeV1(s: ProductState): EventEnvelope {
  const { price, ...rest } = eventData(s);
  return {
    eventId: uuidv7(),
    type: typeOf(s),
    aggregateId: s.id,
    version: s.version,
    occurredAt: s.updatedAt.toISOString(),
    schemaVersion: 1,
    data: { ...rest, priceCents: price.amountMinor, currency: price.currency },
  };
}

async function publish(config: Config, envelopes: EventEnvelope[]): Promise<void> {
  await producer.send({
    topic: topicFor(config.kafka.topicPrefix, "product"),
    messages: envelopes.map((e) => ({
      key: e.aggregateId,
      value: JSON.stringify(e),
      headers: { "event-type": e.type },
    })),
  });
}

const readModel = (config: Config) =>
  mongo.db(config.mongodb.database).collection<{ _id: string } & Record<string, unknown>>(COLLECTION);

before(async () => {
  producer = await connectProducer(kafkaClient(mixed.kafka.brokers, "event-versions-test"));
  mongo = new MongoClient(mixed.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  await mongo.connect();
});

after(async () => {
  for (const reader of readers) await reader.close().catch(() => undefined);
  await producer?.disconnect();
  await mongo?.close();
  await cleanUp(mixed);
  await cleanUp(current);
});

describe("product events, schema version 2", () => {
  test("a reader that knows only version 1 dead-letters a version-2 event; upgraded, the replay applies it", async () => {
    const old = await startReaderOf(mixed, [projectionV1]);
    const s = state(uuidv7(), 1);
    await publish(mixed, [envelopeV2(s)]);
    await eventually("the old reader to dead-letter it", async () =>
      old.runner.stats().deadLettered >= 1 ? true : undefined,
    );
    assert.equal(await readModel(mixed).countDocuments({ _id: s.id }), 0, "nothing written");
    await old.close();
    readers.splice(readers.indexOf(old), 1);

    const upgraded = await startReaderOf(mixed, [productProjection]);
    const letters = new DeadLetters(
      kafkaClient(mixed.kafka.brokers, "event-versions-test"),
      mixed.kafka.topicPrefix,
      mixed.kafka.partitions,
    );
    const [letter, ...others] = await letters.list();
    assert.equal(others.length, 0);
    assert.equal(letter?.reason, "unknown schema version 2 of ProductCreated");
    assert.ok(letter);
    await letters.replay([letter]);
    await eventually("the replayed event applied", async () =>
      upgraded.runner.stats().applied >= 1 ? true : undefined,
    );
    const doc = await readModel(mixed).findOne({ _id: s.id });
    assert.deepEqual(doc, { _id: s.id, ...productProjection.document(eventData(s)) });
    assert.equal((doc as Record<string, unknown> | null)?.priceCents, 250);
    assert.equal((doc as Record<string, unknown> | null)?.currency, "EUR");
  });

  test("a topic holding both versions projects the same read model as version-2 events alone", async () => {
    // Five products' histories: created, updated twice, the last one deleted; versions alternate.
    const histories = Array.from({ length: 5 }, (_, i) => {
      const id = uuidv7();
      return [1, 2, 3].map((version) => state(id, version, i === 4 && version === 3));
    });
    const events = histories.flat();
    await startReaderOf(current, [productProjection]);
    await publish(current, events.map(envelopeV2));
    await publish(
      mixed,
      events.map((s, i) => (i % 2 === 0 ? envelopeV1(s) : envelopeV2(s))),
    );
    const ids = histories.map((history) => history[0]?.id ?? "");
    const settled = async (config: Config) =>
      (await readModel(config).countDocuments({ _id: { $in: ids }, version: 3 })) === ids.length ? true : undefined;
    await eventually("both read models at version 3", async () =>
      (await settled(mixed)) && (await settled(current)) ? true : undefined,
    );
    const [a, b] = await Promise.all(
      [mixed, current].map((config) =>
        readModel(config)
          .find({ _id: { $in: ids } })
          .sort({ _id: 1 })
          .toArray(),
      ),
    );
    assert.deepEqual(a, b);
    assert.equal(a?.filter((doc) => doc.deleted).length, 1, "one tombstone");
  });
});
