// The baselines: the simplest correct programs for each job, run as processes of their own on the
// same servers and data as the system, with no telemetry. `node scripts/bench/baseline-server.ts
// <kind> <port>`; the servers' addresses come from the same environment the system gets. Each
// answers the system's own paths, so the load generator sends both exactly the same requests.
//
//   redis       GET /api/v1/products/:id: HGETALL of the system's cache entry (a bare Hono + Redis)
//   grpc-front  GET /api/v1/products/:id: a unary gRPC GetProduct to GRPC_BACKEND (a bare Hono -> grpc-js)
//   grpc-redis  the gRPC server behind it: GetProduct as an HGETALL of the cache entry
//   findone     GET /api/v1/products/:id: MongoDB findOne by _id (a bare Hono + MongoDB)
//   find        GET /api/v1/products and /api/v1/users: the same find (filter, sort, limit) the reader runs
//   drizzle     POST /api/v1/products: the row and its outbox row in one Drizzle transaction (in a
//               database of its own, migrated like the writer's, so no relay publishes its rows)
import crypto from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { serve } from "@hono/node-server";
import { drizzle } from "drizzle-orm/postgres-js";
import { Hono } from "hono";
import { type Document, MongoClient } from "mongodb";
import postgres from "postgres";
import { createClient } from "redis";
import { buildFilter as productFilter } from "#functions/products/search-products/search-products.handler.ts";
import { SORTS as PRODUCT_SORTS } from "#functions/products/search-products/search-products.ts";
import { buildFilter as userFilter } from "#functions/users/list-users/list-users.handler.ts";
import { SORTS as USER_SORTS } from "#functions/users/list-users/list-users.ts";
import { type Product, ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { loadConfig } from "#shared/platform/config.ts";
import type { SortOf, SortOrders } from "#shared/transport/cursor.ts";
import { outbox, products } from "#shared/write-side/db/schema.ts";

export const BASELINE_KINDS = ["redis", "grpc-front", "grpc-redis", "findone", "find", "drizzle"] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

const config = loadConfig();
const cacheKey = (id: string) => `${config.redis.keyPrefix}product:${id}`;

async function redisApp(): Promise<Hono> {
  const redis = createClient({ url: config.redis.url });
  await redis.connect();
  return new Hono().get("/api/v1/products/:id", async (c) => {
    const entry = await redis.hGetAll(cacheKey(c.req.param("id")));
    if (entry.b === undefined) return c.json({ title: "Not Found" }, 404);
    c.header("ETag", `"${entry.v}"`);
    return c.body(entry.b, 200, { "content-type": "application/json" });
  });
}

async function grpcRedisServer(port: number): Promise<void> {
  const redis = createClient({ url: config.redis.url });
  await redis.connect();
  const server = new grpc.Server();
  server.addService(ReaderServiceService, {
    getProduct: (
      call: grpc.ServerUnaryCall<{ id: string }, { product?: Product }>,
      callback: grpc.sendUnaryData<{ product?: Product }>,
    ) => {
      redis.hGetAll(cacheKey(call.request.id)).then(
        (entry) => callback(null, entry.b === undefined ? {} : { product: JSON.parse(entry.b) as Product }),
        (error: Error) => callback({ code: grpc.status.UNAVAILABLE, details: error.message }),
      );
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    ),
  );
}

function grpcFrontApp(): Hono {
  const backend = process.env.GRPC_BACKEND ?? "";
  const client = new grpc.Client(backend, grpc.credentials.createInsecure());
  const method = ReaderServiceService.getProduct;
  return new Hono().get("/api/v1/products/:id", async (c) => {
    const response = await new Promise<{ product?: Product }>((resolve, reject) =>
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        { id: c.req.param("id") },
        new grpc.Metadata(),
        { deadline: Date.now() + config.gateway.grpcDeadlineMs },
        (error, value) => (error || !value ? reject(error ?? new Error("no response")) : resolve(value)),
      ),
    );
    if (!response.product) return c.json({ title: "Not Found" }, 404);
    c.header("ETag", `"${response.product.version}"`);
    return c.json(response.product, 200);
  });
}

async function findOneApp(): Promise<Hono> {
  const mongo = await new MongoClient(config.mongodb.url).connect();
  const collection = mongo.db(config.mongodb.database).collection<Document & { _id: string }>("products");
  return new Hono().get("/api/v1/products/:id", async (c) => {
    const doc = await collection.findOne({ _id: c.req.param("id") });
    if (!doc || doc.deleted) return c.json({ title: "Not Found" }, 404);
    c.header("ETag", `"${doc.version}"`);
    return c.json(doc, 200);
  });
}

/** The query string as the reader's request: numbers as numbers, nothing validated (the bench sends valid ones). */
function requestOf(query: Record<string, string>) {
  const number = (name: string) => (query[name] === undefined ? undefined : Number(query[name]));
  return {
    q: query.q,
    tag: query.tag,
    minPriceCents: number("minPriceCents"),
    maxPriceCents: number("maxPriceCents"),
    sort: query.sort,
    limit: number("limit"),
    cursor: query.cursor,
  };
}

async function findApp(): Promise<Hono> {
  const mongo = await new MongoClient(config.mongodb.url).connect();
  const db = mongo.db(config.mongodb.database);
  // The document field each sort key orders by, as the reader's keyset pagination has it.
  const list =
    <K extends string>(
      collection: string,
      orders: SortOrders<K>,
      fields: Record<K, string>,
      filter: (request: ReturnType<typeof requestOf>, sort: SortOf<K>) => Document,
    ) =>
    async (query: Record<string, string>) => {
      const request = requestOf(query);
      const sort = orders.sortFor(request);
      const { name, direction } = orders.parts(sort);
      const field = fields[name];
      const limit = request.limit ?? 20;
      const docs = await db
        .collection(collection)
        .find(filter(request, sort))
        .sort({ [field]: direction, _id: direction })
        .limit(limit + 1)
        .toArray();
      const page = docs.slice(0, limit);
      const last = page.at(-1);
      const more = docs.length > limit && last !== undefined;
      return { items: page, nextCursor: more ? orders.encode(sort, last[field], String(last._id)) : null };
    };
  const searchProducts = list(
    "products",
    PRODUCT_SORTS,
    { name: "sortName", priceCents: "priceCents", createdAt: "createdAt" },
    productFilter,
  );
  const listUsers = list(
    "users",
    USER_SORTS,
    { name: "sortName", email: "sortEmail", createdAt: "createdAt" },
    userFilter,
  );
  return new Hono()
    .get("/api/v1/products", async (c) => c.json(await searchProducts(c.req.query()), 200))
    .get("/api/v1/users", async (c) => c.json(await listUsers(c.req.query()), 200));
}

function drizzleApp(): Hono {
  const sql = postgres(config.postgres.url, { max: 20, onnotice: () => {} });
  const db = drizzle(sql);
  return new Hono().post("/api/v1/products", async (c) => {
    const body = (await c.req.json()) as {
      sku: string;
      name: string;
      description?: string;
      priceCents: number;
      currency: string;
      stock?: number;
      tags?: string[];
    };
    const id = crypto.randomUUID();
    const now = new Date();
    const row = {
      id,
      sku: body.sku,
      name: body.name,
      description: body.description ?? "",
      priceCents: body.priceCents,
      currency: body.currency,
      stock: body.stock ?? 0,
      tags: body.tags ?? [],
      version: 1,
      createdAt: now,
      updatedAt: now,
    };
    const eventId = crypto.randomUUID();
    // The same envelope the writer stores (its size is part of the cost).
    const { priceCents, currency, ...fields } = row;
    const envelope = {
      envelopeVersion: 2,
      eventId,
      type: "ProductCreated",
      aggregateId: id,
      version: 1,
      occurredAt: now.toISOString(),
      schemaVersion: 2,
      data: {
        ...fields,
        price: { amountMinor: priceCents, currency },
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
        deleted: false,
      },
      metadata: {},
    };
    await db.transaction(async (tx) => {
      await tx.insert(products).values(row);
      await tx
        .insert(outbox)
        .values({ eventId, aggregateType: "product", aggregateId: id, type: "ProductCreated", version: 1, envelope });
    });
    c.header("Location", `/api/v1/products/${id}`);
    return c.json({ id, version: 1 }, 201);
  });
}

async function main(kind: string, port: number): Promise<void> {
  if (kind === "grpc-redis") {
    await grpcRedisServer(port);
  } else {
    const apps: Record<Exclude<BaselineKind, "grpc-redis">, () => Hono | Promise<Hono>> = {
      redis: redisApp,
      "grpc-front": grpcFrontApp,
      findone: findOneApp,
      find: findApp,
      drizzle: drizzleApp,
    };
    const make = apps[kind as Exclude<BaselineKind, "grpc-redis">];
    if (!make) throw new Error(`unknown baseline ${kind}; one of ${BASELINE_KINDS.join(", ")}`);
    const app = (await make()).get("/healthz", (c) => c.json({ status: "ok" }));
    await new Promise<void>((resolve) => serve({ fetch: app.fetch, hostname: "127.0.0.1", port }, () => resolve()));
  }
  console.log(`baseline ${kind} listening on 127.0.0.1:${port}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(0));
}

if (import.meta.main) {
  const [kind = "", port = ""] = process.argv.slice(2);
  main(kind, Number(port)).catch((error: unknown) => {
    console.error(`baseline ${kind}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
