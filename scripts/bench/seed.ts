// Bulk seeding of the benchmark's data sets (data.ts): the writer's rows and the read model's
// documents written directly, in batches, instead of one command each through the API, the outbox,
// Kafka and the projection, which would take an hour for 100k products on the local FerretDB.
//
// The read model ends exactly as the projection would leave it: each document is the projection's
// own `document(data)` (what `apply` writes) for the event data the writer would publish
// (`eventData`), and the indexes come from the projection's `setup`. seed.int.spec.ts compares the
// two paths document by document. No outbox rows are written: the seeded state counts as already
// published and projected, so the relay has nothing to send and a reader nothing to catch up.
//
// A kept data set is recognised by a marker written last (`markDataset`), after everything else
// succeeded, holding its key, its size and a fingerprint of every writer row's id and version: an
// interrupted seeding, or a command run on the data since, makes `datasetPresent` false.
import { drizzle } from "drizzle-orm/postgres-js";
import { type Collection, type Db, MongoClient } from "mongodb";
import postgres from "postgres";
import { type ProductState, eventData as productData } from "#functions/products/product.ts";
import { COLLECTION as PRODUCTS, productProjection } from "#functions/products/product-read-model.ts";
import { type UserState, eventData as userData } from "#functions/users/user.ts";
import { COLLECTION as USERS, userProjection } from "#functions/users/user-read-model.ts";
import { ensureDatabase, migrateDatabase } from "#services/writer/writer.ts";
import type { Config } from "#shared/platform/config.ts";
import { baseGenerations } from "#shared/read-side/generations.ts";
import type { Projection } from "#shared/read-side/projection.ts";
import type { ReadModelDoc } from "#shared/read-side/versioned-projection.ts";
import * as schema from "#shared/write-side/db/schema.ts";
import type { Lifecycle } from "#shared/write-side/lifecycle.ts";
import type { WriterDb } from "#shared/write-side/writer-deps.ts";

/** Called after every batch, so a caller can print how far a long seeding is. */
export type Progress = (done: number, total: number) => void;

/** Rows per INSERT (12 columns: far below PostgreSQL's 65535 parameters) and documents per insertMany. */
const BATCH = 1000;
/** Batches written at once. */
const IN_FLIGHT = 2;

/** The read-model database's collection holding the one marker document. */
const MARKER_COLLECTION = "bench_dataset";
const MARKER_ID = "dataset";

interface Marker {
  _id: string;
  key: string;
  count: number;
  /** `fingerprint` of the writer's rows when the seeding finished. */
  fingerprint: string;
  seededAt: Date;
}

interface Aggregate<S extends Lifecycle> {
  /** The writer's table, as in the schema (truncated before the seeding). */
  table: "products" | "users";
  collection: string;
  /** Its `setup` creates the read model's indexes. */
  projection: Projection;
  /** The read-model document `apply` would write for the event carrying `state`. */
  document(state: S): Omit<ReadModelDoc, "_id">;
  /** Inserts the rows, mapped as the aggregate store saves a state (a deleted one keeps its row, with deleted_at). */
  insert(db: WriterDb, states: readonly S[]): Promise<unknown>;
}

const row = <S extends Lifecycle>({ deleted, ...columns }: S) => ({
  ...columns,
  deletedAt: deleted ? columns.updatedAt : null,
});

const PRODUCT: Aggregate<ProductState> = {
  table: "products",
  collection: PRODUCTS,
  projection: productProjection,
  document: (state) => productProjection.document(productData(state)),
  insert: (db, states) => db.insert(schema.products).values(states.map(row)),
};

const USER: Aggregate<UserState> = {
  table: "users",
  collection: USERS,
  projection: userProjection,
  document: (state) => userProjection.document(userData(state)),
  insert: (db, states) => db.insert(schema.users).values(states.map(row)),
};

/** The read model's database, open for `use`. */
async function withReadModel<T>(config: Config, use: (db: Db) => Promise<T>): Promise<T> {
  const mongo = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  try {
    await mongo.connect();
    return await use(mongo.db(config.mongodb.database));
  } finally {
    await mongo.close();
  }
}

const markers = (db: Db): Collection<Marker> => db.collection<Marker>(MARKER_COLLECTION);

/** Waits for every one of `promises` (nothing left writing when the clients close), then throws the first failure. */
async function settled(promises: Promise<unknown>[]): Promise<void> {
  for (const outcome of await Promise.allSettled(promises)) {
    if (outcome.status === "rejected") throw outcome.reason;
  }
}

async function seedAggregate<S extends Lifecycle>(
  config: Config,
  aggregate: Aggregate<S>,
  states: readonly S[],
  progress: Progress,
): Promise<void> {
  await ensureDatabase(config.postgres.url);
  await migrateDatabase(config.postgres.url, config.writer.migrationsDir);
  const sql = postgres(config.postgres.url, { max: IN_FLIGHT, onnotice: () => {} });
  try {
    const db = drizzle(sql, { schema });
    await withReadModel(config, async (readModel) => {
      // Whatever was there is replaced; the marker goes first, so a seeding cut short is never
      // taken for a complete data set.
      await markers(readModel).deleteMany({});
      await sql.unsafe(`truncate table ${aggregate.table}`);
      const existing = await readModel.listCollections({ name: aggregate.collection }).toArray();
      if (existing.length > 0) await readModel.dropCollection(aggregate.collection);
      const collection = readModel.collection<ReadModelDoc>(aggregate.collection);
      let next = 0;
      let done = 0;
      let failed = false;
      // IN_FLIGHT batches at a time, each into both stores at once: FerretDB takes ~30% more
      // documents a second with two inserts under way than with one (measured on 2 cores).
      const worker = async () => {
        while (!failed && next < states.length) {
          const batch = states.slice(next, next + BATCH);
          next += BATCH;
          const docs = batch.map((state) => ({ _id: state.id, ...aggregate.document(state) }));
          try {
            await settled([aggregate.insert(db, batch), collection.insertMany(docs, { ordered: false })]);
          } catch (error) {
            // The other workers stop after the batch they are writing.
            failed = true;
            throw error;
          }
          done += batch.length;
          progress(done, states.length);
        }
      };
      await settled(Array.from({ length: IN_FLIGHT }, worker));
      // After the documents: on a real MongoDB, building an index once is cheaper than keeping it
      // up to date through every insert.
      await aggregate.projection.setup({ readModel, generations: baseGenerations });
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Writes `products` into the writer's table and the read model (migrating the database first). */
export const seedProducts = (config: Config, products: readonly ProductState[], progress: Progress = () => {}) =>
  seedAggregate(config, PRODUCT, products, progress);

/** Writes `users` into the writer's table and the read model (migrating the database first). */
export const seedUsers = (config: Config, users: readonly UserState[], progress: Progress = () => {}) =>
  seedAggregate(config, USER, users, progress);

/**
 * A digest of every product's and user's id and version (and the row count): any command through
 * the API raises a version, a create adds a row, so a data set changed since its seeding shows.
 * PostgreSQL computes it in one pass, about 0.1 s for 200k rows.
 */
async function fingerprint(sql: postgres.Sql): Promise<string> {
  const [result] = await sql<{ digest: string | null }[]>`
    select md5(
      coalesce((select string_agg(id::text || ':' || version, ',' order by id) from products), '') || '|' ||
      coalesce((select string_agg(id::text || ':' || version, ',' order by id) from users), '')
    ) as digest`;
  return result?.digest ?? "";
}

/** The number of product and user rows in the writer's database. */
async function rowCount(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: string }[]>`select (select count(*) from products) + (select count(*) from users) as n`;
  return Number(row?.n ?? 0);
}

/** Records that the data set `key` of `count` items (products and users) is complete: call it last. */
export async function markDataset(config: Config, key: string, count: number): Promise<void> {
  const sql = postgres(config.postgres.url, { max: 1, onnotice: () => {} });
  try {
    // The read model's documents are not counted: insertMany fails unless every document of its
    // batch went in, and counting on FerretDB scans the collection (~13 s per 100k documents).
    const rows = await rowCount(sql);
    if (rows !== count) throw new Error(`data set ${key} is not complete: ${rows} rows, not ${count}`);
    await withReadModel(config, async (readModel) => {
      const marker: Marker = { _id: MARKER_ID, key, count, fingerprint: await fingerprint(sql), seededAt: new Date() };
      await markers(readModel).replaceOne({ _id: MARKER_ID }, marker, { upsert: true });
    });
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** PostgreSQL's code for a database that does not exist. */
const INVALID_CATALOG_NAME = "3D000";

/**
 * Whether the databases `config` names hold the complete data set `key` of `expectedCount` items,
 * unchanged since it was seeded: its marker, and the writer's rows with the same count and
 * fingerprint. The read model is taken to follow the writer (every change through the API reaches
 * both); its documents are not counted, which on FerretDB would scan them all.
 */
export async function datasetPresent(config: Config, key: string, expectedCount: number): Promise<boolean> {
  return withReadModel(config, async (readModel) => {
    const marker = await markers(readModel).findOne({ _id: MARKER_ID });
    if (!marker || marker.key !== key || marker.count !== expectedCount) return false;
    const sql = postgres(config.postgres.url, { max: 1, onnotice: () => {} });
    try {
      return (await rowCount(sql)) === expectedCount && (await fingerprint(sql)) === marker.fingerprint;
    } catch (error) {
      if ((error as { code?: unknown }).code === INVALID_CATALOG_NAME) return false;
      throw error;
    } finally {
      await sql.end({ timeout: 2 });
    }
  });
}
