// What the fault suite checks once the system has converged: PostgreSQL holds every acknowledged
// command's effect (nothing lost), every outbox row was published, the read model equals
// PostgreSQL exactly (nothing divergent), the projections never applied a lower version after a
// higher one (their log), and every read through the gateway returns what the read model holds.
import { isDeepStrictEqual } from "node:util";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import type { MongoClient } from "mongodb";
import type postgres from "postgres";
import { eventData as productData } from "#functions/products/product.ts";
import { COLLECTION as PRODUCTS, productProjection } from "#functions/products/product-read-model.ts";
import { eventData as userData } from "#functions/users/user.ts";
import { COLLECTION as USERS, userProjection } from "#functions/users/user-read-model.ts";
import { deleteGroups, readWholeTopic } from "#scripts/kafka-topics.ts";
import { adminHeaders } from "../support/auth.ts";
import type { Expected, Kind } from "./clients.ts";

interface Row {
  id: string;
  version: number;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
  [column: string]: unknown;
}

/** The read-model document the projection must hold for a row of the writer's table. */
function expectedDocument(kind: Kind, row: Row): Record<string, unknown> {
  const lifecycle = {
    id: row.id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deleted: row.deleted_at !== null,
  };
  const document =
    kind === "product"
      ? productProjection.document(
          productData({
            ...lifecycle,
            sku: String(row.sku),
            name: String(row.name),
            description: String(row.description),
            priceCents: Number(row.price_cents),
            currency: String(row.currency),
            stock: Number(row.stock),
            tags: row.tags as string[],
          }),
        )
      : userProjection.document(
          userData({
            ...lifecycle,
            email: String(row.email),
            name: String(row.name),
            subject: (row.subject as string | null) ?? null,
          }),
        );
  return { _id: row.id, ...document };
}

const TABLES: Record<Kind, { table: string; collection: string }> = {
  product: { table: "products", collection: PRODUCTS },
  user: { table: "users", collection: USERS },
};

export async function rowsOf(sql: postgres.Sql, kind: Kind): Promise<Row[]> {
  return sql<Row[]>`select * from ${sql(TABLES[kind].table)}`;
}

/** Every difference between PostgreSQL and the read model, one line each (empty: they are equal). */
export async function divergence(sql: postgres.Sql, mongo: MongoClient, database: string): Promise<string[]> {
  const differences: string[] = [];
  for (const kind of ["product", "user"] as const) {
    const rows = await rowsOf(sql, kind);
    const docs = await mongo.db(database).collection(TABLES[kind].collection).find({}).toArray();
    const byId = new Map(docs.map((doc) => [String(doc._id), doc as Record<string, unknown>]));
    for (const row of rows) {
      const expected = expectedDocument(kind, row);
      const actual = byId.get(row.id);
      byId.delete(row.id);
      if (!actual) differences.push(`${kind} ${row.id} v${row.version}: missing from the read model`);
      else if (!isDeepStrictEqual({ ...actual }, expected)) {
        differences.push(
          `${kind} ${row.id}: read model v${String(actual.version)} ${JSON.stringify(actual)} != PostgreSQL v${row.version} ${JSON.stringify(expected)}`,
        );
      }
    }
    for (const id of byId.keys()) differences.push(`${kind} ${id}: in the read model but not in PostgreSQL`);
  }
  return differences;
}

export async function unsentOutboxRows(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ count: string }[]>`select count(*) as count from outbox where sent_at is null`;
  return Number(row?.count ?? 0);
}

/** Acknowledged effects PostgreSQL does not have, one line each. */
export async function lostEffects(sql: postgres.Sql, ledger: Map<string, Expected>): Promise<Map<string, string>> {
  const rows = new Map<string, Row>();
  for (const kind of ["product", "user"] as const) for (const row of await rowsOf(sql, kind)) rows.set(row.id, row);
  const column = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const lost = new Map<string, string>();
  for (const entry of ledger.values()) {
    const row = rows.get(entry.id);
    if (!row) {
      lost.set(entry.id, `${entry.kind} ${entry.id}: acknowledged, not in PostgreSQL`);
      continue;
    }
    const deleted = row.deleted_at !== null;
    const fields = Object.entries(entry.fields).filter(([field, value]) => {
      const stored = row[column(field)];
      return !isDeepStrictEqual(typeof value === "number" ? Number(stored) : stored, value);
    });
    if (row.version !== entry.version || deleted !== entry.deleted || fields.length > 0) {
      lost.set(
        entry.id,
        `${entry.kind} ${entry.id}: PostgreSQL v${row.version}${deleted ? " deleted" : ""}, acknowledged v${entry.version}${entry.deleted ? " deleted" : ""}${fields.length > 0 ? `, fields ${fields.map(([f]) => f).join(", ")} differ` : ""}`,
      );
    }
  }
  return lost;
}

/** Outbox events that no aggregate topic holds (by event id; duplicates in a topic do not hide a gap). */
export async function unpublishedEvents(sql: postgres.Sql, brokers: string, topics: string[]): Promise<string[]> {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [brokers], logLevel: KafkaJS.logLevel.NOTHING } });
  const published = new Set<string>();
  for (const topic of topics) {
    const group = `fault-suite-check-${process.pid}-${topic}`;
    try {
      for (const message of await readWholeTopic(kafka, topic, group)) {
        const id = message.headers["event-id"];
        if (id) published.add(id);
      }
    } finally {
      await deleteGroups(kafka, [group]);
    }
  }
  const rows = await sql<{ event_id: string; aggregate_id: string; version: number }[]>`
    select event_id, aggregate_id, version from outbox order by id`;
  return rows
    .filter((row) => !published.has(row.event_id))
    .map((row) => `event ${row.event_id} (${row.aggregate_id} v${row.version}) is in the outbox, in no topic`);
}

/**
 * Versions applied out of order, from the projections' "event projected" log lines of every reader
 * run: for each aggregate, the applied versions in time order must rise.
 */
export function outOfOrder(lines: string[]): string[] {
  const applied: { at: string; seq: number; id: string; version: number }[] = [];
  lines.forEach((line, seq) => {
    if (!line.includes('"event projected"')) return;
    try {
      const entry = JSON.parse(line) as { time?: string; aggregate_id?: string; version?: number; outcome?: string };
      if (entry.outcome === "applied" && entry.aggregate_id && typeof entry.version === "number" && entry.time)
        applied.push({ at: entry.time, seq, id: entry.aggregate_id, version: entry.version });
    } catch {
      // not a log line
    }
  });
  applied.sort((a, b) => a.at.localeCompare(b.at) || a.seq - b.seq);
  const last = new Map<string, number>();
  const problems: string[] = [];
  for (const { id, version, at } of applied) {
    const before = last.get(id) ?? 0;
    if (version <= before) problems.push(`${id}: version ${version} applied at ${at} after version ${before}`);
    last.set(id, Math.max(before, version));
  }
  return problems;
}

/** Reads through the gateway that disagree with the read model (e.g. a cache holding an older body). */
export async function staleReads(
  gatewayUrl: string,
  mongo: MongoClient,
  database: string,
  ledger: Map<string, Expected>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const entry of ledger.values()) {
    const doc = await mongo
      .db(database)
      .collection(TABLES[entry.kind].collection)
      .findOne({ _id: entry.id as never });
    const response = await fetch(`${gatewayUrl}/api/v1/${entry.kind}s/${entry.id}`, { headers: await adminHeaders() });
    const body = (await response.json()) as { version?: number };
    const live = doc && doc.deleted !== true;
    if (live && (response.status !== 200 || body.version !== doc.version)) {
      problems.push(
        `${entry.kind} ${entry.id}: read model v${doc.version}, the gateway answered ${response.status} v${body.version}`,
      );
    }
    if (!live && response.status !== 404) {
      problems.push(`${entry.kind} ${entry.id}: gone from the read model, the gateway answered ${response.status}`);
    }
  }
  return problems;
}
