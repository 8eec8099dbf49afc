// Duplicates and replays change nothing: after a run of commands (creates, updates, deletes of
// products and users, each read back so the cache holds it), every event published a second time,
// and then the whole history replayed from offset 0 by a reader whose consumer group was reset,
// leave the read model and the cache exactly as they were.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MongoClient } from "mongodb";
import { createClient } from "redis";
import { deleteGroups, readWholeTopic, type TopicMessage } from "#scripts/kafka-topics.ts";
import { type Gateway, startGateway } from "#services/gateway/gateway.ts";
import { type Reader, startReader } from "#services/reader/reader.ts";
import { startWriter, type Writer } from "#services/writer/writer.ts";
import { type Config, loadConfig } from "#shared/platform/config.ts";
import { topicFor } from "#shared/platform/events.ts";
import { connectProducer, kafkaClient } from "#shared/platform/kafka.ts";
import { callJson } from "../support/http.ts";
import { cleanUp, eventually, runId, testConfig, testLog, UNREACHED_BUDGETS } from "../support/system.ts";

const TOPICS = ["product", "user"];
let config: Config;
let writer: Writer | undefined;
let reader: Reader | undefined;
let gateway: Gateway | undefined;
let mongo: MongoClient;
let redis: ReturnType<typeof createClient>;
let base = "";
let before_: Snapshot;
let events = 0;

interface Snapshot {
  documents: Record<string, unknown>[];
  cache: Record<string, Record<string, string>>;
}

async function snapshot(): Promise<Snapshot> {
  const documents: Record<string, unknown>[] = [];
  for (const collection of ["products", "users"]) {
    const docs = await mongo.db(config.mongodb.database).collection(collection).find({}).sort({ _id: 1 }).toArray();
    documents.push(...docs.map((doc) => ({ collection, ...doc })));
  }
  const cache: Record<string, Record<string, string>> = {};
  const keys: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: `${config.redis.keyPrefix}*`, COUNT: 500 }))
    keys.push(...batch);
  for (const key of keys.sort()) cache[key] = await redis.hGetAll(key);
  return { documents, cache };
}

async function startTheReader(): Promise<Reader> {
  const started = await startReader(config, testLog);
  await eventually(
    "the reader's partitions",
    async () => (started.projections.assigned() > 0 ? true : undefined),
    60_000,
  );
  return started;
}

before(async () => {
  config = testConfig("replay");
  writer = await startWriter(config, testLog);
  reader = await startTheReader();
  gateway = await startGateway(
    loadConfig({
      ...process.env,
      GATEWAY_PORT: "0",
      GATEWAY_METRICS_PORT: "0",
      ...UNREACHED_BUDGETS,
      WRITER_ADDRESS: `127.0.0.1:${writer.grpcPort}`,
      READER_ADDRESS: `127.0.0.1:${reader.grpcPort}`,
    }),
    testLog,
  );
  base = gateway.url;
  mongo = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  redis = createClient({ url: config.redis.url });
  await redis.connect();

  // A history with every kind of event, each aggregate read back at its last version (cached).
  const reads: { path: string; version: number }[] = [];
  for (let i = 0; i < 4; i++) {
    const sku = `replay-${runId}-${i}`;
    const created = await callJson(base, "POST", "/api/v1/products", {
      sku,
      name: `Replayed ${i}`,
      priceCents: 100 + i,
      currency: "EUR",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = String(created.body.id);
    let version = 1;
    for (let change = 0; change < i; change++) {
      const updated = await callJson(
        base,
        "PATCH",
        `/api/v1/products/${id}`,
        { priceCents: 200 + change },
        { "If-Match": `"${version}"` },
      );
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      version += 1;
    }
    if (i === 3) {
      assert.equal((await callJson(base, "DELETE", `/api/v1/products/${id}`)).status, 204);
      version += 1;
    }
    reads.push({ path: `/api/v1/products/${id}`, version });
    const user = await callJson(base, "POST", "/api/v1/users", {
      email: `replay-${runId}-${i}@example.com`,
      name: `User ${i}`,
    });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const userId = String(user.body.id);
    assert.equal((await callJson(base, "PATCH", `/api/v1/users/${userId}`, { name: `Renamed ${i}` })).status, 200);
    reads.push({ path: `/api/v1/users/${userId}`, version: 2 });
  }
  for (const { path, version } of reads) {
    await eventually(`${path} at version ${version}`, async () => {
      const read = await callJson(base, "GET", path);
      const deleted = version > 1 && read.status === 404;
      return read.status === 200 && read.body.version === version ? true : deleted ? true : undefined;
    });
    await callJson(base, "GET", path); // a hit now: the cache holds it
  }
  before_ = await snapshot();
  assert.ok(Object.keys(before_.cache).length >= reads.length, "the cache holds every aggregate");
});

after(async () => {
  await gateway?.stop();
  await reader?.stop();
  await writer?.stop();
  await mongo?.close();
  redis?.destroy();
  await cleanUp(config);
});

test("every event published a second time leaves the read model and the cache as they were", async () => {
  const kafka = kafkaClient(config.kafka.brokers, "replay-test");
  const group = `${config.kafka.consumerGroup}.copy`;
  const copies: { topic: string; message: TopicMessage }[] = [];
  try {
    for (const aggregate of TOPICS) {
      const topic = topicFor(config.kafka.topicPrefix, aggregate);
      for (const message of await readWholeTopic(kafka, topic, `${group}.${aggregate}`))
        copies.push({ topic, message });
    }
  } finally {
    await deleteGroups(
      kafka,
      TOPICS.map((aggregate) => `${group}.${aggregate}`),
    );
  }
  events = copies.length;
  assert.equal(events, 19, "4 products created, 6 updates, 1 delete; 4 users created, 4 updates");
  const seen = reader?.projections.stats() ?? { applied: 0, stale: 0 };
  const producer = await connectProducer(kafka);
  try {
    for (const { topic, message } of copies) {
      await producer.send({
        topic,
        messages: [{ key: message.key, value: message.value, headers: message.headers, partition: message.partition }],
      });
    }
  } finally {
    await producer.disconnect();
  }
  await eventually(
    `the reader to take all ${events} copies`,
    async () => {
      const now = reader?.projections.stats() ?? seen;
      return now.applied + now.stale - (seen.applied + seen.stale) >= events ? now : undefined;
    },
    30_000,
  );
  const now = reader?.projections.stats();
  assert.equal(now?.applied, seen.applied, "a copy applied nothing");
  assert.deepEqual(await snapshot(), before_);
});

test("a reset consumer group replays every topic from offset 0, and nothing changes", async () => {
  await reader?.stop();
  reader = undefined;
  const kafka = kafkaClient(config.kafka.brokers, "replay-test");
  await deleteGroups(kafka, [config.kafka.consumerGroup]);
  reader = await startTheReader();
  const replay = reader;
  await eventually(
    `the new reader to replay all ${events * 2} messages`,
    async () => {
      const stats = replay.projections.stats();
      return stats.applied + stats.stale >= events * 2 ? stats : undefined;
    },
    30_000,
  );
  assert.equal(replay.projections.stats().applied, 0, "a replayed event applied nothing");
  assert.deepEqual(await snapshot(), before_);
});
