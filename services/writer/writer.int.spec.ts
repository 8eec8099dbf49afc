// The writer against the real PostgreSQL and Kafka: a command's row and its outbox event commit
// together or not at all (a taken sku, a fault raised inside the database), and the outbox relay
// publishes every event exactly once, in version order per product, with its headers, even with a
// second writer replica (a second relay) draining the same outbox.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import postgres from "postgres";
import * as v from "valibot";
import { createProductHandler as createProduct } from "#functions/products/create-product/create-product.handler.ts";
import { deleteProductHandler as deleteProduct } from "#functions/products/delete-product/delete-product.handler.ts";
import { updateProductHandler as updateProduct } from "#functions/products/update-product/update-product.handler.ts";
import { deleteGroups, readWholeTopic } from "#scripts/kafka-topics.ts";
import { DomainError } from "#shared/platform/errors.ts";
import { EventEnvelope, topicFor } from "#shared/platform/events.ts";
import { kafkaClient } from "#shared/platform/kafka.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import { cleanUp, eventually, testConfig, testLog } from "#tests/support/system.ts";
import { startWriter, type Writer } from "./writer.ts";

const config = testConfig("writer_int");
const topic = topicFor(config.kafka.topicPrefix, "product");
const kafka = kafkaClient(config.kafka.brokers, "writer-int-spec");

let writer: Writer | undefined;
let replica: Writer | undefined;
let sql: postgres.Sql | undefined;
/** The consumer groups this file created to read the topic, deleted in `after`. */
const verifyGroups: string[] = [];

before(async () => {
  writer = await startWriter(config, testLog);
  sql = postgres(config.postgres.url, { max: 2, onnotice: () => {} });
});

after(async () => {
  await replica?.stop();
  await writer?.stop();
  await sql?.end({ timeout: 5 });
  await deleteGroups(kafka, verifyGroups);
  await cleanUp(config);
});

function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} did not start`);
  return value;
}

const Created = v.object({ id: v.string(), version: v.number() });

async function create(deps: WriterDeps, sku: string): Promise<string> {
  const result = v.parse(
    Created,
    await createProduct.invoke(deps, {
      sku,
      name: `Product ${sku}`,
      description: "",
      priceCents: 100,
      currency: "EUR",
      stock: 1,
      tags: [],
    }),
  );
  assert.equal(result.version, 1);
  return result.id;
}

async function rename(deps: WriterDeps, id: string, name: string): Promise<number> {
  return v.parse(Created, await updateProduct.invoke(deps, { id, name })).version;
}

/** The error chain's messages, however drizzle wraps the driver's error. */
function messages(error: unknown): string {
  const out: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) out.push(e.message);
  return out.join(" <- ");
}

interface OutboxRow {
  event_id: string;
  aggregate_id: string;
  type: string;
  version: number;
  sent: boolean;
}

/** The product events in the outbox (what the product topic must hold), in commit order. */
function outboxRows(db: postgres.Sql): Promise<OutboxRow[]> {
  return db<OutboxRow[]>`
    select event_id, aggregate_id, type, version, sent_at is not null as sent
    from outbox where aggregate_type = 'product' order by id`;
}

async function productCount(db: postgres.Sql, sku: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`select count(*)::int as n from products where sku = ${sku}`;
  return row?.n ?? -1;
}

interface Received {
  partition: number;
  offset: bigint;
  key: string;
  envelope: EventEnvelope;
  headers: Record<string, string>;
}

/**
 * Reads the whole topic, from the beginning up to its current end, with a fresh consumer group,
 * so a message published twice would be read twice. Messages in arrival order (ordered per partition).
 */
async function readTopic(): Promise<Received[]> {
  const groupId = `${config.kafka.topicPrefix}verify-${verifyGroups.length}`;
  verifyGroups.push(groupId);
  return (await readWholeTopic(kafka, topic, groupId)).map((message) => ({
    partition: message.partition,
    offset: BigInt(message.offset),
    key: message.key,
    envelope: v.parse(EventEnvelope, JSON.parse(message.value)),
    headers: message.headers,
  }));
}

/** Waits until every outbox row is marked sent and neither relay is mid-drain. */
async function allSent(db: postgres.Sql, relays: Writer[]): Promise<OutboxRow[]> {
  await eventually("every outbox row marked sent", async () =>
    (await outboxRows(db)).every((row) => row.sent) ? true : undefined,
  );
  // A drain in progress would be awaited here (drain() joins the running one).
  await Promise.all(relays.map((relay) => relay.drainOutbox()));
  const rows = await outboxRows(db);
  assert.ok(
    rows.every((row) => row.sent),
    "every outbox row has sent_at",
  );
  return rows;
}

/** Each outbox event published exactly once, versions 1..n in order per key, headers matching. */
function assertPublishedOnce(received: Received[], rows: OutboxRow[]): void {
  const seen = new Map<string, number>();
  for (const message of received) seen.set(message.envelope.eventId, (seen.get(message.envelope.eventId) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], "no event is published more than once");
  assert.deepEqual(
    [...seen.keys()].sort(),
    rows.map((row) => row.event_id).sort(),
    "the topic holds exactly the outbox's events",
  );

  const byId = new Map(rows.map((row) => [row.event_id, row]));
  const versionsByKey = new Map<string, number[]>();
  const partitionByKey = new Map<string, number>();
  for (const message of received) {
    const { envelope } = message;
    const row = byId.get(envelope.eventId);
    assert.ok(row, `event ${envelope.eventId} is in the outbox`);
    assert.equal(message.key, envelope.aggregateId, "keyed by the aggregate id");
    assert.equal(envelope.aggregateId, row.aggregate_id);
    assert.equal(envelope.version, row.version);
    assert.equal(envelope.type, row.type);
    assert.equal(message.headers["event-type"], envelope.type, "event-type header matches the envelope");
    assert.equal(message.headers["event-id"], envelope.eventId, "event-id header matches the envelope");
    assert.equal(partitionByKey.get(message.key) ?? message.partition, message.partition, "one partition per key");
    partitionByKey.set(message.key, message.partition);
    versionsByKey.set(message.key, [...(versionsByKey.get(message.key) ?? []), envelope.version]);
  }
  for (const [key, versions] of versionsByKey) {
    assert.deepEqual(
      versions,
      versions.map((_, i) => i + 1),
      `product ${key}: versions 1..n in order`,
    );
  }
}

describe("writer: row and outbox commit together", () => {
  test("a create commits the product row and its outbox row", async () => {
    const { deps } = started(writer, "writer");
    const db = started(sql, "sql");
    const id = await create(deps, "ATOM-1");
    const [row] = await db<{ sku: string; version: number }[]>`select sku, version from products where id = ${id}`;
    assert.deepEqual(row, { sku: "ATOM-1", version: 1 });
    const events = await db<{ type: string; version: number; sku: string }[]>`
      select type, version, envelope->'data'->>'sku' as sku from outbox where aggregate_id = ${id}`;
    assert.deepEqual([...events], [{ type: "ProductCreated", version: 1, sku: "ATOM-1" }]);
  });

  test("a taken sku is a conflict and adds neither a row nor an outbox row", async () => {
    const { deps } = started(writer, "writer");
    const db = started(sql, "sql");
    await create(deps, "ATOM-2");
    const outboxBefore = (await outboxRows(db)).length;
    await assert.rejects(create(deps, "ATOM-2"), (error: unknown) => {
      assert.ok(error instanceof DomainError, `a DomainError, got ${messages(error)}`);
      assert.equal(error.code, "conflict");
      return true;
    });
    assert.equal(await productCount(db, "ATOM-2"), 1, "still one product with that sku");
    assert.equal((await outboxRows(db)).length, outboxBefore, "no outbox row added");
  });

  test("a fault in the outbox insert rolls back the product row", async () => {
    const { deps } = started(writer, "writer");
    const db = started(sql, "sql");
    await db`
      create function fail_me() returns trigger language plpgsql as $$
      begin
        raise exception 'injected outbox fault';
      end;
      $$`;
    await db`
      create trigger fail_me before insert on outbox for each row
      when (new.envelope->'data'->>'sku' = 'FAIL-ME') execute function fail_me()`;
    const outboxBefore = (await outboxRows(db)).length;
    try {
      await assert.rejects(create(deps, "FAIL-ME"), (error: unknown) => {
        assert.ok(!(error instanceof DomainError), "not mistaken for a domain error");
        assert.match(messages(error), /injected outbox fault/);
        return true;
      });
      assert.equal(await productCount(db, "FAIL-ME"), 0, "no product row left behind");
      assert.equal((await outboxRows(db)).length, outboxBefore, "no outbox row");
    } finally {
      await db`drop trigger fail_me on outbox`;
      await db`drop function fail_me()`;
    }
    // Without the fault the same create commits: the trigger was the only reason it failed.
    await create(deps, "FAIL-ME");
    assert.equal(await productCount(db, "FAIL-ME"), 1);
  });
});

describe("writer: the outbox relay", () => {
  test("publishes each event once, in version order per product, with its headers", async () => {
    const relay = started(writer, "writer");
    const db = started(sql, "sql");
    // Products in parallel, each one's commands in sequence: the relay sees bursts of rows, so a
    // batch holds several products' events and must keep each one's versions in order.
    const ids = await Promise.all(
      [1, 2, 3, 4, 5].map(async (i) => {
        const id = await create(relay.deps, `RELAY-${i}`);
        for (let round = 1; round <= 3; round++) {
          assert.equal(await rename(relay.deps, id, `Renamed ${round}`), round + 1);
        }
        return id;
      }),
    );
    const [doomed = ""] = ids;
    assert.equal(v.parse(Created, await deleteProduct.invoke(relay.deps, { id: doomed })).version, 5);

    const rows = await allSent(db, [relay]);
    const received = await readTopic();
    assertPublishedOnce(received, rows);
    for (const id of ids) {
      const types = received.filter((m) => m.key === id).map((m) => m.envelope.type);
      const expected = ["ProductCreated", "ProductUpdated", "ProductUpdated", "ProductUpdated"];
      assert.deepEqual(types, id === doomed ? [...expected, "ProductDeleted"] : expected, `events of ${id}`);
    }
  });

  test("two writer replicas (two relays on one outbox) still publish each event once", async () => {
    const first = started(writer, "writer");
    const db = started(sql, "sql");
    replica = await startWriter(config, testLog);
    const second = replica;
    const writers = [first, second];
    const via = (n: number) => (n % 2 === 0 ? first : second).deps;

    // Commands on both replicas, products in parallel, while both relays are asked to drain
    // over and over: only the advisory lock keeps them from publishing the same rows.
    let commanding = true;
    const drains = (async () => {
      let rounds = 0;
      while (commanding || rounds < 3) {
        await Promise.all(writers.map((w) => w.drainOutbox()));
        rounds++;
      }
      return rounds;
    })();
    const ids: string[] = [];
    try {
      await Promise.all(
        [1, 2, 3, 4].map(async (i) => {
          const id = await create(via(i), `REPLICA-${i}`);
          ids.push(id);
          for (let round = 1; round <= 3; round++) {
            assert.equal(await rename(via(i + round), id, `Replica ${round}`), round + 1);
          }
        }),
      );
    } finally {
      commanding = false;
    }
    assert.ok((await drains) >= 3);

    const rows = await allSent(db, writers);
    const received = await readTopic();
    assertPublishedOnce(received, rows);
    for (const id of ids) {
      assert.deepEqual(
        received.filter((m) => m.key === id).map((m) => m.envelope.version),
        [1, 2, 3, 4],
        `events of ${id}`,
      );
    }
  });
});
