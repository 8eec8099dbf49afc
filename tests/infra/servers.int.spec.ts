// Proves that every server of the shared local stack answers the client library the services use,
// at the address shared/platform/config.ts gives, and behaves as the services rely on:
//   - PostgreSQL: a committed transaction is kept, a transaction that throws is rolled back;
//   - Redis: a key set with a TTL reads back and carries that TTL;
//   - Kafka: an idempotent producer's keyed messages with headers reach a consumer group intact,
//     each key on one partition in the order produced;
//   - FerretDB: unique indexes report E11000, a version-guarded upsert rejects a stale replay,
//     and an `$or` keyset cursor pages through a collection exactly once, in order;
//   - Jaeger: a span exported over OTLP/HTTP can be read back through the query API.
// Everything created is named from the run id (CQRS_TEST_RUN_ID) and removed afterwards, so a
// running `npm start` never sees it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { type Collection, MongoClient, MongoServerError } from "mongodb";
import postgres from "postgres";
import { createClient } from "redis";
import { loadConfig } from "#shared/platform/config.ts";
import { eventually } from "#tests/support/wait.ts";

const config = loadConfig();
const runId = process.env.CQRS_TEST_RUN_ID ?? "local";
/** The run id made safe for database, topic and service names, plus this file's own suffix. */
const name = `${runId.toLowerCase().replace(/[^a-z0-9]/g, "_")}_infra_${process.pid.toString(36)}`;

const WAIT_MS = 30_000;

const until = <T>(what: string, ms: number, probe: () => Promise<T | undefined>) => eventually(what, probe, ms, 100);

function postgresUrl(database: string): string {
  const url = new URL(config.postgres.url);
  url.pathname = `/${database}`;
  return url.toString();
}

describe("PostgreSQL", () => {
  const database = name;
  const admin = postgres(postgresUrl("postgres"), { max: 1, onnotice: () => {} });
  let sql: postgres.Sql | undefined;

  before(async () => {
    await admin`drop database if exists ${admin(database)} with (force)`;
    await admin`create database ${admin(database)}`;
    sql = postgres(postgresUrl(database), { max: 2, onnotice: () => {} });
  });

  after(async () => {
    try {
      await sql?.end({ timeout: 5 });
      await admin`drop database if exists ${admin(database)} with (force)`;
      const left = await admin`select 1 from pg_database where datname = ${database}`;
      assert.equal(left.length, 0, `database ${database} was not dropped`);
    } finally {
      await admin.end({ timeout: 5 });
    }
  });

  test("a committed transaction is kept and a failed one is rolled back", async () => {
    assert.ok(sql);
    const db = sql;
    const [where] = await db<{ current_database: string }[]>`select current_database()`;
    assert.equal(where?.current_database, database);
    await db`create table note (id int primary key, body text not null)`;

    await db.begin(async (tx) => {
      await tx`insert into note (id, body) values (1, 'committed')`;
    });

    let seenInside = -1;
    await assert.rejects(
      db.begin(async (tx) => {
        await tx`insert into note (id, body) values (2, 'rolled back')`;
        const rows = await tx`select id from note where id = 2`;
        seenInside = rows.length;
        throw new Error("abort this transaction");
      }),
      /abort this transaction/,
    );
    assert.equal(seenInside, 1, "the row was written inside the transaction before it failed");

    const rows = await db<{ id: number; body: string }[]>`select id, body from note order by id`;
    assert.deepEqual(
      rows.map((row) => ({ ...row })),
      [{ id: 1, body: "committed" }],
    );
  });
});

describe("Redis", () => {
  const client = createClient({ url: config.redis.url, socket: { connectTimeout: 5000, reconnectStrategy: false } });
  const errors: Error[] = [];
  client.on("error", (error: Error) => errors.push(error));
  const key = `test:${runId}:infra:${process.pid}:greeting`;

  before(async () => {
    await client.connect();
  });

  after(async () => {
    try {
      await client.del(key);
    } finally {
      client.destroy();
    }
    assert.deepEqual(errors, []);
  });

  test("a key set with a TTL reads back with that TTL and can be deleted", async () => {
    const value = `hello ${Date.now()}`;
    assert.equal(await client.set(key, value, { expiration: { type: "EX", value: 60 } }), "OK");
    assert.equal(await client.get(key), value);
    const ttl = await client.ttl(key);
    assert.ok(ttl >= 1 && ttl <= 60, `TTL ${ttl} is not within 1..60`);
    assert.equal(await client.del(key), 1);
    assert.equal(await client.exists(key), 0);
    assert.equal(await client.get(key), null);
  });
});

describe("Kafka", () => {
  const topic = `${name}_roundtrip`;
  const groupId = `${name}_group`;
  const kafka = new KafkaJS.Kafka({
    kafkaJS: { brokers: config.kafka.brokers.split(","), logLevel: KafkaJS.logLevel.ERROR },
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 } });
  const consumer = kafka.consumer({ kafkaJS: { groupId, fromBeginning: true } });
  let topicCreated = false;

  before(async () => {
    await admin.connect();
  });

  after(async () => {
    try {
      await Promise.all([consumer.disconnect(), producer.disconnect()]);
      if (topicCreated) {
        await admin.deleteTopics({ topics: [topic] });
        await until("the topic to disappear", WAIT_MS, async () =>
          (await admin.listTopics()).includes(topic) ? undefined : true,
        );
      }
      await admin.deleteGroups([groupId]).catch(() => {}); // only there if the consumer joined
    } finally {
      await admin.disconnect();
    }
  });

  test("keyed messages with headers arrive intact, each key on one partition in order", async () => {
    assert.equal(
      await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] }),
      true,
      "the topic was created",
    );
    topicCreated = true;
    const [metadata] = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(metadata?.partitions.length, 3);

    const keys = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    const perKey = 4;
    const sent = keys.flatMap((key) =>
      Array.from({ length: perKey }, (_, seq) => ({
        key,
        value: JSON.stringify({ key, seq, runId }),
        headers: { seq: String(seq), "event-type": `${key}.changed`, run: runId },
      })),
    );

    interface Received {
      key: string | undefined;
      value: string | undefined;
      headers: Record<string, string>;
      partition: number;
      offset: bigint;
    }
    const received: Received[] = [];
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [header, raw] of Object.entries(message.headers ?? {})) {
          if (raw !== undefined) headers[header] = Array.isArray(raw) ? raw.map(String).join(",") : raw.toString();
        }
        received.push({
          key: message.key?.toString(),
          value: message.value?.toString(),
          headers,
          partition,
          offset: BigInt(message.offset),
        });
      },
    });

    // Interleave the keys, so that per-key order is not just the order of one batch. The client
    // converts what it is given to Buffers in place, so it gets copies and `sent` stays as written.
    const interleaved = [...sent]
      .sort((a, b) => a.headers.seq.localeCompare(b.headers.seq))
      .map((message) => ({ ...message, headers: { ...message.headers } }));
    const metadataList = await producer.send({ topic, messages: interleaved });
    assert.ok(metadataList.length > 0);
    for (const record of metadataList) assert.equal(record.errorCode, 0);

    await until(`${sent.length} messages on ${topic}`, WAIT_MS, async () =>
      received.length >= sent.length ? true : undefined,
    );
    assert.equal(received.length, sent.length, "each message arrived once");

    for (const message of sent) {
      const match = received.filter((got) => got.value === message.value);
      assert.equal(match.length, 1, `message ${message.value} arrived exactly once`);
      assert.equal(match[0]?.key, message.key);
      assert.deepEqual(match[0]?.headers, message.headers);
    }

    const usedPartitions = new Set<number>();
    for (const key of keys) {
      const ofKey = received.filter((got) => got.key === key);
      const partitions = new Set(ofKey.map((got) => got.partition));
      assert.equal(partitions.size, 1, `every message with key ${key} is on one partition`);
      for (const partition of partitions) usedPartitions.add(partition);
      const byOffset = [...ofKey].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
      assert.deepEqual(
        byOffset.map((got) => got.headers.seq),
        Array.from({ length: perKey }, (_, seq) => String(seq)),
        `key ${key} is stored in the order produced`,
      );
      assert.deepEqual(
        ofKey.map((got) => got.headers.seq),
        byOffset.map((got) => got.headers.seq),
        `key ${key} was consumed in offset order`,
      );
    }
    assert.ok(usedPartitions.size > 1, "the keys spread over more than one partition");
  });
});

describe("FerretDB (MongoDB wire protocol)", () => {
  const client = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 10_000 });
  const db = client.db(name);

  before(async () => {
    await client.connect();
    await db.dropDatabase();
  });

  after(async () => {
    try {
      await db.dropDatabase();
      const names = (await client.db("admin").admin().listDatabases()).databases.map((d) => d.name);
      assert.ok(!names.includes(name), `database ${name} was not dropped`);
    } finally {
      await client.close();
    }
  });

  const isDuplicateKey = (error: unknown) => {
    assert.ok(error instanceof MongoServerError, `expected a MongoServerError, got ${String(error)}`);
    assert.equal(error.code, 11000);
    assert.match(error.message, /E11000/);
    return true;
  };

  test("a unique index rejects a duplicate with code 11000", async () => {
    const products = db.collection<{ _id: string; sku: string }>("products");
    await products.createIndex({ sku: 1 }, { unique: true, name: "sku_unique" });
    await products.insertOne({ _id: "p1", sku: "SKU-1" });
    await assert.rejects(products.insertOne({ _id: "p2", sku: "SKU-1" }), isDuplicateKey);
    assert.equal(await products.countDocuments({ sku: "SKU-1" }), 1);
    assert.equal(await products.findOne({ _id: "p2" }), null);
  });

  test("a version-guarded upsert applies newer versions and rejects a stale replay", async () => {
    const views = db.collection<{ _id: string; version: number; title: string }>("views");
    const apply = (version: number, title: string) =>
      views.updateOne({ _id: "v1", version: { $lt: version } }, { $set: { version, title } }, { upsert: true });

    const first = await apply(1, "one");
    assert.equal(first.upsertedCount, 1);
    const second = await apply(3, "three");
    assert.equal(second.modifiedCount, 1);
    await assert.rejects(apply(2, "two (stale)"), isDuplicateKey);
    await assert.rejects(apply(3, "three (replayed)"), isDuplicateKey);
    assert.deepEqual(await views.findOne({ _id: "v1" }), { _id: "v1", version: 3, title: "three" });
    assert.equal(await views.countDocuments({}), 1);
  });

  test("an $or keyset cursor pages through every document once, in order", async () => {
    interface Person {
      _id: string;
      name: string;
    }
    const people: Collection<Person> = db.collection<Person>("people");
    await people.createIndex({ name: 1, _id: 1 }, { name: "name_id" });
    // Repeated names, so the cursor has to break ties on _id; inserted out of order.
    const docs: Person[] = ["mia", "ann", "zoe", "bob", "ann", "mia", "carl", "bob", "ann", "dan"].map(
      (person, index) => ({ _id: `id${String((index * 7) % 10).padStart(2, "0")}`, name: person }),
    );
    await people.insertMany(docs);
    const expected = [...docs]
      .sort((a, b) => (a.name === b.name ? (a._id < b._id ? -1 : 1) : a.name < b.name ? -1 : 1))
      .map((doc) => doc._id);

    const pageSize = 3;
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let last: Person | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const filter = last ? { $or: [{ name: { $gt: last.name } }, { name: last.name, _id: { $gt: last._id } }] } : {};
      const page = await people.find(filter).sort({ name: 1, _id: 1 }).limit(pageSize).toArray();
      pageSizes.push(page.length);
      if (page.length === 0) break;
      seen.push(...page.map((doc) => doc._id));
      last = page.at(-1);
    }
    assert.deepEqual(seen, expected);
    assert.deepEqual(pageSizes, [3, 3, 3, 1, 0]);
  });
});

describe("Jaeger", () => {
  const serviceName = `infra-test-${name}`;
  const spanName = `round-trip-${name}-${Date.now().toString(36)}`;
  const exporter = new OTLPTraceExporter({ url: `${config.otlpEndpoint}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });

  after(async () => {
    await provider.shutdown();
  });

  interface JaegerTraces {
    data?: {
      traceID: string;
      spans: { traceID: string; spanID: string; operationName: string; processID: string }[];
      processes: Record<string, { serviceName: string }>;
    }[];
  }

  test("a span exported over OTLP/HTTP can be read back through the query API", async () => {
    const span = provider.getTracer("tests/infra").startSpan(spanName, { attributes: { "test.run_id": runId } });
    const { traceId, spanId } = span.spanContext();
    span.end();
    await provider.forceFlush();

    const url = `${config.jaeger.queryUrl}/api/traces?service=${encodeURIComponent(serviceName)}&limit=20`;
    const found = await until(`span ${spanName} in Jaeger`, WAIT_MS, async () => {
      const response = await fetch(url);
      if (!response.ok) {
        await response.body?.cancel();
        return undefined;
      }
      const body = (await response.json()) as JaegerTraces;
      for (const trace of body.data ?? []) {
        const match = trace.spans.find((s) => s.spanID === spanId);
        if (match) return { trace, span: match };
      }
      return undefined;
    });
    assert.equal(found.span.operationName, spanName);
    assert.equal(found.span.traceID, traceId);
    assert.equal(found.trace.processes[found.span.processID]?.serviceName, serviceName);
  });
});
