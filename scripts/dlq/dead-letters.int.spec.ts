// The dead-letter tool on a real system: a message the projection can never apply is listed with
// its reason and origin, shown, and discarded; an event dead-lettered for a cause since fixed is
// replayed into the read model, twice harmlessly, and an older one replayed after it changes
// nothing; what was done survives (a new tool instance, and the CLI, see the same states).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { after, before, test } from "node:test";
import { MongoClient } from "mongodb";
import { deadLetterTopicFor, topicFor } from "#shared/platform/events.ts";
import { connectProducer, kafkaClient } from "#shared/platform/kafka.ts";
import { callJson } from "#tests/support/http.ts";
import { eventually, runId, startSystem, type TestSystem, testEnv } from "#tests/support/system.ts";
import { deleteGroups, readWholeTopic } from "../kafka-topics.ts";
import { DeadLetters, handledTopic } from "./dead-letters.ts";

const root = path.resolve(import.meta.dirname, "../..");
let system: TestSystem;
let mongo: MongoClient;
let productId = "";
let topic = "";
let dlqTopic = "";
/** The product's version-2 event as published, to derive the dead letters from. */
let v2: { key: string; value: string; headers: Record<string, string> };

const tool = () =>
  new DeadLetters(
    kafkaClient(system.config.kafka.brokers, "dlq-test"),
    system.config.kafka.topicPrefix,
    system.config.kafka.partitions,
  );
const stats = () => system.reader.projections.stats();
const readModel = () =>
  mongo
    .db(system.config.mongodb.database)
    .collection("products")
    .findOne({ _id: productId as never });

before(async () => {
  system = await startSystem("dlq");
  mongo = new MongoClient(system.config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  topic = topicFor(system.config.kafka.topicPrefix, "product");
  dlqTopic = deadLetterTopicFor(topic);
  const created = await callJson(system.url, "POST", "/api/v1/products", {
    sku: `dlq-${runId}`,
    name: "Dead letters",
    priceCents: 100,
    currency: "EUR",
  });
  assert.equal(created.status, 201);
  productId = String(created.body.id);
  const updated = await callJson(system.url, "PATCH", `/api/v1/products/${productId}`, { name: "Version two" });
  assert.equal(updated.status, 200);
  await eventually("version 2 in the read model", async () => ((await readModel())?.version === 2 ? true : undefined));
  const kafka = kafkaClient(system.config.kafka.brokers, "dlq-test");
  const group = `${system.config.kafka.consumerGroup}.dlq-test`;
  const messages = await readWholeTopic(kafka, topic, group).finally(() => deleteGroups(kafka, [group]));
  const found = messages.find((m) => m.key === productId && JSON.parse(m.value).version === 2);
  assert.ok(found, "the version-2 event");
  v2 = found;
});

after(async () => {
  await mongo?.close();
  await system?.stop();
  const kafka = kafkaClient(system.config.kafka.brokers, "dlq-test");
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [handledTopic(system.config.kafka.topicPrefix)] }).catch(() => undefined);
  await admin.disconnect();
});

/** The version-2 event turned into version `version`, with `name`. */
function eventAt(version: number, name: string): string {
  const envelope = JSON.parse(v2.value) as { eventId: string; version: number; data: Record<string, unknown> };
  return JSON.stringify({ ...envelope, eventId: randomUUID(), version, data: { ...envelope.data, version, name } });
}

async function deadLetter(value: string, reason: string): Promise<void> {
  const producer = await connectProducer(kafkaClient(system.config.kafka.brokers, "dlq-test"));
  try {
    await producer.send({
      topic: dlqTopic,
      messages: [
        {
          key: productId,
          value,
          headers: {
            ...v2.headers,
            "dlq-reason": reason,
            "dlq-origin-topic": topic,
            "dlq-origin-partition": "0",
            "dlq-origin-offset": "0",
          },
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
}

test("a message the projection cannot apply is dead-lettered and listed with its reason and origin", async () => {
  const producer = await connectProducer(kafkaClient(system.config.kafka.brokers, "dlq-test"));
  try {
    await producer.send({ topic, messages: [{ key: productId, value: "not json at all" }] });
  } finally {
    await producer.disconnect();
  }
  await eventually("the poison message dead-lettered", async () => (stats().deadLettered >= 1 ? true : undefined));
  const letters = await tool().list();
  assert.equal(letters.length, 1);
  const [poison] = letters;
  assert.equal(poison?.reason, "value is not JSON");
  assert.equal(poison?.origin.topic, topic);
  assert.equal(poison?.aggregateId, productId);
  assert.equal(poison?.state, "pending");
  assert.match(poison?.ref ?? "", new RegExp(`^${dlqTopic.replaceAll(".", "\\.")}:\\d+:\\d+$`));
});

test("a dead letter whose cause is fixed is replayed into the read model; twice is harmless", async () => {
  await deadLetter(eventAt(3, "Replayed from the DLQ"), "simulated: MongoDB rejected it, since fixed");
  const letters = tool();
  const pending = (await letters.list()).filter((l) => l.state === "pending");
  const fixed = pending.find((l) => l.reason.startsWith("simulated"));
  assert.ok(fixed);
  assert.equal(fixed.eventType, v2.headers["event-type"]);
  await letters.replay([fixed]);
  await eventually("version 3 in the read model", async () => ((await readModel())?.version === 3 ? true : undefined));
  assert.equal((await readModel())?.name, "Replayed from the DLQ");
  const seen = stats();
  await letters.replay([fixed]);
  await eventually("the second replay taken (as stale)", async () => (stats().stale > seen.stale ? true : undefined));
  assert.equal(stats().applied, seen.applied, "the second replay applied nothing");
  assert.equal((await readModel())?.version, 3);
});

test("replaying an older event after a newer one changes nothing", async () => {
  await deadLetter(eventAt(2, "An older name"), "simulated: an older event");
  const letters = tool();
  const older = (await letters.list()).find((l) => l.reason === "simulated: an older event");
  assert.ok(older);
  const seen = stats();
  await letters.replay([older]);
  await eventually("the older replay taken (as stale)", async () => (stats().stale > seen.stale ? true : undefined));
  const doc = await readModel();
  assert.equal(doc?.version, 3);
  assert.equal(doc?.name, "Replayed from the DLQ");
});

test("discard marks it handled; the states survive, and the CLI lists them", async () => {
  const letters = tool();
  const poison = (await letters.list()).find((l) => l.reason === "value is not JSON");
  assert.ok(poison);
  await letters.discard([poison]);
  const states = new Map((await tool().list()).map((l) => [l.reason, l.state]));
  assert.deepEqual(Object.fromEntries(states), {
    "value is not JSON": "discarded",
    "simulated: MongoDB rejected it, since fixed": "replayed",
    "simulated: an older event": "replayed",
  });
  const env = { ...process.env, ...testEnv("dlq") };
  const list = spawnSync(process.execPath, [path.join(root, "scripts/dlq.ts"), "list"], { env, encoding: "utf8" });
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /^3 dead letters, 0 pending$/m);
  assert.match(list.stdout, /discarded .*value is not JSON/);
  const show = spawnSync(process.execPath, [path.join(root, "scripts/dlq.ts"), "show", poison.ref], {
    env,
    encoding: "utf8",
  });
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /dlq-reason: value is not JSON/);
  assert.match(show.stdout, /not json at all/);
});
