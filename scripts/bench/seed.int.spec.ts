// The bulk seeding (seed.ts) against the real PostgreSQL and MongoDB wire (FerretDB): one isolated
// system seeded in bulk, another given the same products and users the normal way (each create and
// delete through the writer's aggregate store, each outbox event applied by the projection). The
// two must end with the same rows and the same read-model documents and indexes, field by field;
// the rows must be the generated states; and a data set counts as present only once its marker is
// written, and no longer once a row changes.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { asc } from "drizzle-orm";
import { MongoClient } from "mongodb";
import type postgres from "postgres";
import type { ProductState } from "#functions/products/product.ts";
import { productProjection } from "#functions/products/product-read-model.ts";
import { execute as executeProduct } from "#functions/products/product-store.ts";
import { USER_ADMIN } from "#functions/users/user-api.ts";
import { userProjection } from "#functions/users/user-read-model.ts";
import { execute as executeUser } from "#functions/users/user-store.ts";
import { connectReaderDeps } from "#services/reader/reader.ts";
import { connectWriterDeps } from "#services/writer/writer.ts";
import type { Config } from "#shared/platform/config.ts";
import type { EventEnvelope } from "#shared/platform/events.ts";
import { runAs } from "#shared/transport/caller.ts";
import { outbox, products as productRows, users as userRows } from "#shared/write-side/db/schema.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import { cleanUp, testConfig, testLog } from "#tests/support/system.ts";
import { generateProducts, generateUsers, paramsKey } from "./data.ts";
import { datasetPresent, markDataset, seedProducts, seedUsers } from "./seed.ts";

const USER_ADMIN_CALL = { actor: { subject: "seed", roles: [USER_ADMIN] }, correlationId: undefined };

const bulk = testConfig("bench_seed_bulk");
const projected = testConfig("bench_seed_projected");

// 120 products: one whole block of 100 (5 deleted) and part of the next.
const products = generateProducts({ count: 120, seed: 11 });
const users = generateUsers({ count: 40, seed: 11 });
const total = products.length + users.length;
const key = paramsKey({ products: products.length, users: users.length, seed: 11 });

after(async () => {
  await cleanUp(bulk);
  await cleanUp(projected);
});

/** The writer's database of `config`, open for `use`. */
async function withWriter<T>(config: Config, use: (deps: WriterDeps, sql: postgres.Sql) => Promise<T>): Promise<T> {
  const { sql, deps } = await connectWriterDeps(config);
  try {
    return await use(deps, sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Every product and user row of `config`'s writer, by id, deleted_at included. */
function rowsOf(config: Config) {
  return withWriter(config, async ({ db }) => ({
    products: await db.select().from(productRows).orderBy(asc(productRows.id)),
    users: await db.select().from(userRows).orderBy(asc(userRows.id)),
  }));
}

/** A row as the aggregate store reads it into a state. */
const asState = <R extends { deletedAt: Date | null }>({ deletedAt, ...rest }: R) => ({
  ...rest,
  deleted: deletedAt !== null,
});

/** Every read-model document and index of `config`, by collection. */
async function readModelOf(config: Config) {
  const mongo = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  try {
    await mongo.connect();
    const db = mongo.db(config.mongodb.database);
    const out: Record<string, { docs: unknown[]; indexes: unknown[] }> = {};
    for (const name of ["products", "users"]) {
      const collection = db.collection<{ _id: string }>(name);
      const indexes = (await collection.listIndexes().toArray()).map((index) => ({ name: index.name, key: index.key }));
      out[name] = {
        docs: await collection.find({}).sort({ _id: 1 }).toArray(),
        indexes: indexes.sort((a, b) => String(a.name).localeCompare(String(b.name))),
      };
    }
    return out;
  } finally {
    await mongo.close();
  }
}

const byId = <T extends { id: string }>(items: readonly T[]) => [...items].sort((a, b) => (a.id < b.id ? -1 : 1));

const productFields = ({ sku, name, description, priceCents, currency, stock, tags }: ProductState) => ({
  sku,
  name,
  description,
  priceCents,
  currency,
  stock,
  tags,
});

describe("bulk seeding of the benchmark's data", () => {
  test("a data set is present only after its marker, with its key and size", async () => {
    assert.ok(products.some((p) => p.deleted) && users.some((u) => u.deleted), "some items are deleted");
    assert.equal(await datasetPresent(bulk, key, total), false, "nothing seeded yet");
    const reported: [number, number][] = [];
    await seedProducts(bulk, products, (done, of) => reported.push([done, of]));
    await seedUsers(bulk, users, (done, of) => reported.push([done, of]));
    assert.deepEqual(reported, [
      [products.length, products.length],
      [users.length, users.length],
    ]);
    assert.equal(await datasetPresent(bulk, key, total), false, "seeded, but not marked");
    await markDataset(bulk, key, total);
    assert.equal(await datasetPresent(bulk, key, total), true);
    assert.equal(await datasetPresent(bulk, `${key}x`, total), false, "another key");
    assert.equal(await datasetPresent(bulk, key, total + 1), false, "another size");
  });

  test("the writer's rows are the generated states, and no outbox rows are written", async () => {
    const rows = await rowsOf(bulk);
    assert.deepEqual(rows.products.map(asState), byId(products));
    assert.deepEqual(rows.users.map(asState), byId(users));
    const unsent = await withWriter(bulk, ({ db }) => db.select().from(outbox));
    assert.equal(unsent.length, 0);
  });

  test("the writer's commands and the projection leave the same rows, documents and indexes", async () => {
    // The normal path: each item created (and deleted) by the aggregate store at its own times...
    const envelopes = await withWriter(projected, async (deps) => {
      for (const p of products) {
        let state = await executeProduct(deps, p.id, {
          type: "CreateProduct",
          id: p.id,
          fields: productFields(p),
          now: p.createdAt,
        });
        if (p.deleted) state = await executeProduct(deps, p.id, { type: "DeleteProduct", now: p.updatedAt });
        assert.deepEqual(state, p, "the generated state is the one the writer makes");
      }
      for (const u of users) {
        // As a user-admin: a caller without the role may change only their own users.
        let state = await runAs(USER_ADMIN_CALL, () =>
          executeUser(deps, u.id, {
            type: "CreateUser",
            id: u.id,
            fields: { email: u.email, name: u.name },
            subject: null,
            now: u.createdAt,
          }),
        );
        if (u.deleted) {
          state = await runAs(USER_ADMIN_CALL, () => executeUser(deps, u.id, { type: "DeleteUser", now: u.updatedAt }));
        }
        assert.deepEqual(state, u, "the generated state is the one the writer makes");
      }
      return (await deps.db.select().from(outbox).orderBy(asc(outbox.id))).map((row) => ({
        aggregateType: row.aggregateType,
        envelope: row.envelope as EventEnvelope,
      }));
    });
    // ...and each event it published applied by the projection, in order.
    const reader = await connectReaderDeps(projected, testLog);
    try {
      await productProjection.setup(reader.deps);
      await userProjection.setup(reader.deps);
      for (const { aggregateType, envelope } of envelopes) {
        const projection = aggregateType === "product" ? productProjection : userProjection;
        assert.equal(await projection.apply(reader.deps, envelope), "applied");
      }
    } finally {
      await reader.close();
    }
    assert.equal(envelopes.length, total + [...products, ...users].filter((item) => item.deleted).length);

    assert.deepEqual(await rowsOf(bulk), await rowsOf(projected));
    const [seeded, normal] = [await readModelOf(bulk), await readModelOf(projected)];
    assert.equal(seeded.products?.docs.length, products.length);
    assert.equal(seeded.users?.docs.length, users.length);
    assert.deepEqual(seeded, normal);
  });

  test("a data set changed after its seeding is no longer present", async () => {
    assert.equal(await datasetPresent(bulk, key, total), true);
    const live = products.find((p) => !p.deleted);
    assert.ok(live);
    await withWriter(bulk, (deps) =>
      executeProduct(deps, live.id, { type: "UpdateProduct", patch: { stock: live.stock + 1 }, now: new Date() }),
    );
    assert.equal(await datasetPresent(bulk, key, total), false);
  });
});
