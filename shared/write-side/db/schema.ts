// The writer's PostgreSQL schema, the one module drizzle-kit reads (drizzle.config.ts). Migrations
// generated from it live in drizzle/ and are applied when the writer starts.
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/**
 * The transactional outbox: each command writes its event here in the same transaction as the
 * state change; the relay publishes unsent rows in id order and stamps `sent_at`.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    eventId: uuid("event_id").notNull().unique(),
    aggregateType: text("aggregate_type").notNull(),
    aggregateId: uuid("aggregate_id").notNull(),
    type: text("type").notNull(),
    version: integer("version").notNull(),
    /** The whole event envelope as published. */
    envelope: jsonb("envelope").notNull(),
    /** Kafka headers beyond event-type and event-id, e.g. the W3C trace context of the command. */
    headers: jsonb("headers").$type<Record<string, string>>().notNull().default({}),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    sentAt: timestamp("sent_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [index("outbox_unsent_idx").on(table.id).where(sql`${table.sentAt} is null`)],
);

export const products = pgTable(
  "products",
  {
    id: uuid("id").primaryKey(),
    sku: text("sku").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    priceCents: bigint("price_cents", { mode: "number" }).notNull(),
    currency: text("currency").notNull(),
    stock: integer("stock").notNull(),
    tags: text("tags").array().notNull(),
    version: integer("version").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    /** A deleted product keeps its row (and version) so its sku is free again but its id stays gone. */
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [uniqueIndex("products_sku_live_idx").on(table.sku).where(sql`${table.deletedAt} is null`)],
);

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey(),
    /** As given (trimmed); uniqueness compares it lower-cased. */
    email: text("email").notNull(),
    name: text("name").notNull(),
    /** The token subject the user belongs to; null for users created before subjects (admins only). */
    subject: text("subject"),
    version: integer("version").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    /** A deleted user keeps its row (and version) so its email is free again but its id stays gone. */
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [
    uniqueIndex("users_email_live_idx").on(sql`lower(${table.email})`).where(sql`${table.deletedAt} is null`),
    uniqueIndex("users_subject_live_idx").on(table.subject).where(sql`${table.deletedAt} is null`),
  ],
);

/**
 * Idempotency keys of commands, written in the same transaction as the command's effect: a repeat
 * with the same key and request finds the stored response instead of acting again.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    /** The route the key belongs to, e.g. "POST /api/v1/products". */
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    /** SHA-256 of the request, to refuse the same key with another request. */
    requestHash: text("request_hash").notNull(),
    response: jsonb("response"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.scope, table.key] }),
    index("idempotency_keys_expiry_idx").on(table.expiresAt),
  ],
);

/**
 * Who relays the outbox (shared/write-side/relay-lease.ts): one row, rewritten by the lease holder
 * at every heartbeat, so the writer that takes the lease over can say how long there was no relay.
 */
export const relayLease = pgTable("relay_lease", {
  /** Always 1: there is one relay. */
  id: integer("id").primaryKey().default(1),
  /** The holding writer's instance, e.g. "writer@host:pid". */
  holder: text("holder").notNull(),
  heartbeatAt: timestamp("heartbeat_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});
