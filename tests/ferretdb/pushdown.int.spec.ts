// Differential test of infra/ferretdb/pushdown.patch: the stack's FerretDB (patched) against the
// same FerretDB version built stock, which the test starts itself on the stack's PostgreSQL, with
// its own database. Both get the same seeded random read models (tombstones, empty tags and
// descriptions, many shared sort values so that _id breaks ties across page boundaries), then every
// query the read model runs goes to both through the real handlers (searchProducts, listUsers,
// getProduct, getUser: their own filters, sorts, limits and cursors) and must answer the same,
// page after page; so must the versioned projection's upserts, applied and stale (E11000), and
// random replacing upserts, which the patched build does in one statement where it can.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { type Db, Double, Int32, MongoClient } from "mongodb";
import postgres from "postgres";
import { getProductHandler } from "#functions/products/get-product/get-product.handler.ts";
import { type ProductState, eventData as productData } from "#functions/products/product.ts";
import { productEvents } from "#functions/products/product-events.ts";
import { COLLECTION as PRODUCTS, productProjection } from "#functions/products/product-read-model.ts";
import { liveCarrying, MEMBERS, productTagsProjection } from "#functions/products/product-tags-read-model.ts";
import { searchProductsHandler } from "#functions/products/search-products/search-products.handler.ts";
import { SORTS as PRODUCT_SORTS } from "#functions/products/search-products/search-products.ts";
import { getUserHandler } from "#functions/users/get-user/get-user.handler.ts";
import { listUsersHandler } from "#functions/users/list-users/list-users.handler.ts";
import { SORTS as USER_SORTS } from "#functions/users/list-users/list-users.ts";
import { type UserState, eventData as userData } from "#functions/users/user.ts";
import { COLLECTION as USERS, userProjection } from "#functions/users/user-read-model.ts";
import { ensureFerretdb, ferretdbArgs } from "#infra/ferretdb/ferretdb.ts";
import { serverContext } from "#infra/server.ts";
import { mulberry32 } from "#scripts/bench/data.ts";
import { loadConfig } from "#shared/platform/config.ts";
import type { EventEnvelope } from "#shared/platform/events.ts";
import type { VersionedCache } from "#shared/read-side/cache.ts";
import { baseGenerations } from "#shared/read-side/generations.ts";
import type { ReaderDeps } from "#shared/read-side/reader-deps.ts";
import { eventually, freePort, runId } from "#tests/support/system.ts";

const config = loadConfig();
const name = `t_${runId}_pushdown`;
/** The stock server's own PostgreSQL database. */
const stockPgDatabase = `${name}_stock`;

/** What the handlers need besides the read model: no cache (every read goes to the read model). */
const noCache: VersionedCache = {
  get: async () => undefined,
  fill: async () => true,
  invalidate: async () => true,
  supersede: async () => true,
  close: async () => {},
};
const deps = (readModel: Db): ReaderDeps => ({
  readModel,
  cache: noCache,
  generations: baseGenerations,
  clock: () => new Date(),
  minVersionWaitMs: 0,
  queryTimeoutMs: 30_000,
});

// --- Seeded randomness (the bench's generator), so a failure is reproducible.

const SEED = Number(process.env.PUSHDOWN_SEED ?? 20_240_601);
const random = mulberry32(SEED);
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
const hex = (digits: number) => Array.from({ length: digits }, () => Math.floor(random() * 16).toString(16)).join("");
const uuid = () => `${hex(8)}-${hex(4)}-7${hex(3)}-${pick(["8", "9", "a", "b"])}${hex(3)}-${hex(12)}`;

// Few distinct values everywhere, so sort keys tie often (accents and case fold to one sortName).
const WORDS = ["Oak", "oak", "Öak", "Oaken", "Rose", "Roseate", "Heirloom", "Émile", "emile", "Zebra", "table"];
// Descriptions are only read back: strings JSON must escape, or that are not ASCII, take the patched
// decoder's slow path (infra/ferretdb/PATCH.md, "Decoding").
const TEXTS = [...WORDS, 'a "quoted" word', "back\\slash", "tab\tand\nnewline", "owl 🦉", "\u0001"];
const PRICES = [0, 99, 100, 500, 500, 1000, 4999, 123_456_789, 1_000_000_000_000];
const TAGS = ["t1", "t2", "t3", "sale"];
const TIMES = Array.from({ length: 9 }, (_, i) => new Date(Date.UTC(2025, 0, 1 + (i % 4), i)));
const EMAILS = ["ada@x.io", "Ada.L@x.io", "ada.lovelace@x.io", "bob@y.org", "ÉMILE@z.fr", "emile@z.fr", "zoe@x.io"];

const productCount = 160;
const userCount = 120;

function randomProduct(): ProductState {
  const deleted = random() < 0.12;
  const createdAt = pick(TIMES);
  return {
    id: uuid(),
    sku: `SKU-${hex(6)}`,
    name: Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(WORDS)).join(" "),
    description: random() < 0.3 ? "" : `${pick(WORDS)} ${pick(TEXTS)}`,
    priceCents: random() < 0.85 ? pick(PRICES) : Math.floor(random() * 10_000),
    currency: "EUR",
    stock: Math.floor(random() * 5),
    tags: TAGS.filter(() => random() < 0.3),
    version: deleted ? 2 : 1 + Math.floor(random() * 3),
    createdAt,
    updatedAt: createdAt,
    deleted,
  };
}

function randomUser(): UserState {
  const deleted = random() < 0.12;
  const createdAt = pick(TIMES);
  return {
    id: uuid(),
    email: pick(EMAILS),
    name: `${pick(WORDS)} ${pick(["Lovelace", "Łukasz", "lovelace", "Hopper"])}`,
    subject: null,
    version: deleted ? 2 : 1,
    createdAt,
    updatedAt: createdAt,
    deleted,
  };
}

const products = Array.from({ length: productCount }, randomProduct);
const users = Array.from({ length: userCount }, randomUser);

// --- The two servers.

let stockServer: ChildProcess | undefined;
const stockOutput: string[] = [];
let stockClient: MongoClient | undefined;
let patchedClient: MongoClient | undefined;
let stock: Db;
let patched: Db;

/** A database on the read side's PostgreSQL, where the local FerretDB keeps its own. */
function pgUrl(database: string): string {
  const url = new URL(config.postgres.ferretdbUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function connect(url: string): Promise<MongoClient> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2000, directConnection: true });
  return eventually(
    `FerretDB at ${url}`,
    () =>
      client.connect().then(
        () => client,
        () => undefined,
      ),
    30_000,
    100,
  );
}

async function seed(db: Db): Promise<void> {
  await db.dropDatabase();
  await productProjection.setup({ readModel: db, generations: baseGenerations });
  await userProjection.setup({ readModel: db, generations: baseGenerations });
  await db
    .collection(PRODUCTS)
    .insertMany(products.map((p) => ({ _id: p.id, ...productProjection.document(productData(p)) }) as never));
  await productTagsProjection.setup({ readModel: db, generations: baseGenerations });
  await db
    .collection(MEMBERS)
    .insertMany(products.map((p) => ({ _id: p.id, ...productTagsProjection.document(productData(p)) }) as never));
  await db
    .collection(USERS)
    .insertMany(users.map((u) => ({ _id: u.id, ...userProjection.document(userData(u)) }) as never));
}

before(async () => {
  const say = (line: string) => console.log(`[ferretdb stock] ${line}`);
  const binary = await ensureFerretdb(serverContext(config, "ferretdb-stock", say), { stock: true });
  const admin = postgres(pgUrl("postgres"), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${stockPgDatabase}" with (force)`);
    await admin.unsafe(`create database "${stockPgDatabase}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const port = process.env.FERRETDB_STOCK_PORT ? Number(process.env.FERRETDB_STOCK_PORT) : await freePort();
  stockServer = spawn(binary, ferretdbArgs(port, pgUrl(stockPgDatabase)), { stdio: ["ignore", "pipe", "pipe"] });
  const keep = (chunk: Buffer) => stockOutput.push(chunk.toString());
  stockServer.stdout?.on("data", keep);
  stockServer.stderr?.on("data", keep);
  stockClient = await connect(`mongodb://127.0.0.1:${port}/`);
  patchedClient = await connect(config.mongodb.url);
  stock = stockClient.db(name);
  patched = patchedClient.db(name);
  await Promise.all([seed(stock), seed(patched)]);
});

after(async () => {
  await patched?.dropDatabase().catch(() => {});
  await Promise.all([stockClient?.close(), patchedClient?.close()]);
  if (stockServer && stockServer.exitCode === null) {
    const exited = new Promise((resolve) => stockServer?.once("exit", resolve));
    stockServer.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    if (stockServer.exitCode === null) stockServer.kill("SIGKILL");
  }
  const admin = postgres(pgUrl("postgres"), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${stockPgDatabase}" with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
});

/** A call's result, or the error it threw as code and message, so both servers can be compared. */
async function outcome<T>(call: () => Promise<T>): Promise<{ value: T } | { error: string }> {
  try {
    return { value: await call() };
  } catch (error) {
    const { code, message = "" } = error as { code?: unknown; message?: string };
    // An internal error's message names the source lines it passed ("[collection.go:227 ...] "),
    // which the patches move.
    return { error: `${String(code)}: ${message.replace(/\[[\w.]+\.go:\d+ [^\]]*\] /g, "")}` };
  }
}

/** Runs `call` on both servers and asserts the same outcome; returns the stock one. */
async function same<T>(what: string, call: (db: Db) => Promise<T>): Promise<T> {
  const [s, p] = await Promise.all([outcome(() => call(stock)), outcome(() => call(patched))]);
  assert.deepEqual(p, s, `${what}: patched and stock FerretDB differ`);
  if ("error" in s) throw new Error(`${what}: ${s.error}`);
  return s.value;
}

/** A collection's documents as stored, by _id: BSON bytes, so field order and number types count. */
const stored = (db: Db, collection: string) =>
  db.collection(collection).find({}, { raw: true }).sort({ _id: 1 }).toArray() as Promise<unknown[]>;

interface Page {
  items: { id: string }[];
  nextCursor?: string | undefined;
}

/** Every page of a list request on both servers, following the cursors; how many items and pages. */
async function walk(
  what: string,
  run: (db: Db, request: Record<string, unknown>) => Promise<Page>,
  request: Record<string, unknown>,
): Promise<{ items: number; pages: number }> {
  let cursor: string | undefined;
  let items = 0;
  let pages = 0;
  const seen = new Set<string>();
  do {
    const page = await same(`${what} page ${pages + 1}`, (db) =>
      run(db, cursor === undefined ? request : { ...request, cursor }),
    );
    for (const item of page.items) {
      assert.ok(!seen.has(item.id), `${what}: ${item.id} listed twice`);
      seen.add(item.id);
    }
    items += page.items.length;
    pages += 1;
    cursor = page.nextCursor;
  } while (cursor !== undefined && pages < 200);
  return { items, pages };
}

const searchProducts = (db: Db, request: Record<string, unknown>) =>
  searchProductsHandler.invoke(deps(db), request) as Promise<Page>;
const listUsers = (db: Db, request: Record<string, unknown>) =>
  listUsersHandler.invoke(deps(db), request) as Promise<Page>;

describe("the stack's FerretDB is the patched build", () => {
  test("it pushes an exact, sorted and limited find down to SQL; the stock build does not", async () => {
    const command = {
      explain: { find: PRODUCTS, filter: { $and: [{ deleted: false }] }, sort: { sortName: 1, _id: 1 }, limit: 3 },
    };
    const [s, p] = await Promise.all([stock.command(command), patched.command(command)]);
    assert.equal(
      p.sortPushdown,
      true,
      `the FerretDB at ${config.mongodb.url} does not push sorts down: it is not built with ` +
        "infra/ferretdb/pushdown.patch (a server started before the patch keeps running; restart it)",
    );
    assert.equal(s.sortPushdown, false);
  });

  test("creating an index analyzes its table: PostgreSQL has the new index's statistics at once", async () => {
    // Without them it costs `deleted: false` at 1% of the rows and sorts where it should walk an
    // index; autovacuum analyzes a table only after a tenth of its rows changed (PATCH.md, "Plans").
    const collection = patched.collection<{ _id: string; deleted: boolean }>("analyzed");
    await collection.insertMany(Array.from({ length: 200 }, (_, i) => ({ _id: `d${i}`, deleted: i % 20 === 0 })));
    await collection.createIndex({ deleted: 1 }, { name: "by_deleted" });
    const sql = postgres(config.postgres.ferretdbUrl, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ values: string; shares: number[] }[]>`
        select s.most_common_vals::text as values, s.most_common_freqs as shares
        from pg_indexes i join pg_stats s on s.schemaname = i.schemaname and s.tablename = i.indexname
        where i.schemaname = ${name} and i.tablename like 'analyzed%' and i.indexdef like '%deleted%'`;
      assert.equal(rows.length, 1, "no statistics on the index's expression");
      assert.equal(rows[0]?.values, "{false,true}");
      assert.deepEqual(rows[0]?.shares, [0.95, 0.05]);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  test("FerretDB's PostgreSQL database orders strings by code point, as BSON does", async () => {
    const sql = postgres(config.postgres.ferretdbUrl, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<
        { datcollate: string }[]
      >`select datcollate from pg_database where datname = current_database()`;
      assert.match(row?.datcollate ?? "", /^(C|POSIX|C\.UTF-?8)$/i, "pushed string ranges and sorts need it");
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});

describe("product searches answer the same on both", () => {
  const qs = [undefined, "oak", "Oa ro", "heir", "ÉMI", "zz", " -- "];
  const tags = [undefined, "t1", "SALE", "none"];
  const prices = [
    {},
    { minPriceCents: 500 },
    { maxPriceCents: 500 },
    { minPriceCents: 99, maxPriceCents: 4999 },
    { minPriceCents: 500, maxPriceCents: 500 },
    { minPriceCents: 0, maxPriceCents: 1_000_000_000_000 },
  ];

  for (const sort of PRODUCT_SORTS.sorts) {
    test(`every product by sort=${sort}, a few per page`, async () => {
      const { items } = await walk(`sort=${sort}`, searchProducts, { sort, limit: 7 });
      assert.equal(items, products.filter((p) => !p.deleted).length);
    });
  }

  test("random combinations of q, tag, price range, sort and page size", async () => {
    let pages = 0;
    for (let i = 0; i < 30; i++) {
      const request = {
        q: pick(qs),
        tag: pick(tags),
        ...pick(prices),
        sort: pick(PRODUCT_SORTS.sorts),
        limit: pick([3, 10, 100]),
      };
      pages += (await walk(JSON.stringify(request), searchProducts, request)).pages;
    }
    assert.ok(pages > 50);
  });
});

describe("user listings answer the same on both", () => {
  const qs = [undefined, "ada", "ada l", "ada.l", "ADA.L@X", "émile", "emile@z", "zz", "x.io", "o", "łu"];

  for (const sort of USER_SORTS.sorts) {
    test(`every user by sort=${sort}, a few per page`, async () => {
      const { items } = await walk(`sort=${sort}`, listUsers, { sort, limit: 6 });
      assert.equal(items, users.filter((u) => !u.deleted).length);
    });
  }

  test("every q with a random sort and page size", async () => {
    for (const q of qs) {
      const request = { q, sort: pick(USER_SORTS.sorts), limit: pick([1, 4, 50]) };
      await walk(JSON.stringify(request), listUsers, request);
    }
  });
});

describe("tag counts answer the same on both", () => {
  test("the recount's count of live members carrying each tag (pushed down to SQL when patched)", async () => {
    for (const tag of [...TAGS, "absent"]) {
      const expected = products.filter((p) => !p.deleted && p.tags.includes(tag)).length;
      const counted = await same(`count of ${tag}`, (db) => liveCarrying(db, MEMBERS, tag));
      assert.equal(counted, expected, `live products carrying ${tag}`);
    }
  });

  test("counts the patch leaves to FerretDB: a filter it cannot push exactly, a skip, a limit", async () => {
    const count =
      (query: object, extra: object = {}) =>
      (db: Db) =>
        db.command({ count: MEMBERS, query, ...extra }).then((answer) => Number(answer.n));
    const live = products.filter((p) => !p.deleted).length;
    assert.equal(
      await same("count with $in", count({ tags: { $in: ["t1", "t2"] }, deleted: false })),
      products.filter((p) => !p.deleted && (p.tags.includes("t1") || p.tags.includes("t2"))).length,
    );
    assert.equal(await same("count with a skip", count({ deleted: false }, { skip: 5 })), live - 5);
    assert.equal(await same("count with a limit", count({ deleted: false }, { limit: 7 })), 7);
    assert.equal(await same("count of everything", count({})), products.length);
  });
});

describe("reads by id answer the same on both", () => {
  test("findOne by _id: live, deleted and missing products and users", async () => {
    const missing = Array.from({ length: 3 }, uuid);
    for (const id of [...products.slice(0, 25).map((p) => p.id), ...missing]) {
      await same(`getProduct ${id}`, (db) => outcome(() => getProductHandler.invoke(deps(db), { id })));
    }
    for (const id of [...users.slice(0, 15).map((u) => u.id), ...missing]) {
      await same(`getUser ${id}`, (db) => outcome(() => getUserHandler.invoke(deps(db), { id })));
    }
  });
});

describe("the versioned upsert behaves the same on both", () => {
  const envelope = (state: ProductState): EventEnvelope => ({
    eventId: uuid(),
    type: state.deleted ? "ProductDeleted" : state.version === 1 ? "ProductCreated" : "ProductUpdated",
    aggregateId: state.id,
    version: state.version,
    occurredAt: state.updatedAt.toISOString(),
    schemaVersion: productEvents.types.ProductCreated.version,
    data: productData(state),
  });

  test("applied, replaced, stale replays (E11000 inside) and tombstones", async () => {
    const fresh = randomProduct();
    const existing = products.find((p) => !p.deleted && p.version === 1) ?? products[0];
    assert.ok(existing);
    // A fresh id: inserted, replaced, stale, stale, deleted, not resurrected, replaced. The seeded
    // one starts with a stale replay of what is there.
    const cases: { base: ProductState; first: string }[] = [
      { base: { ...fresh, deleted: false }, first: "applied" },
      { base: existing, first: "stale" },
    ];
    for (const { base, first } of cases) {
      const at = (version: number, deleted = false): ProductState => ({
        ...base,
        version,
        deleted,
        name: `v${version}`,
      });
      const sequence = [at(1), at(3), at(2), at(3), at(4, true), at(2), at(5)];
      const outcomes = await same(`upserts of ${base.id}`, async (db) => {
        const results: string[] = [];
        for (const state of sequence) {
          results.push(
            String(
              await productProjection.apply(
                { readModel: db, cache: noCache, generations: baseGenerations },
                envelope(state),
              ),
            ),
          );
        }
        return { results, doc: await db.collection(PRODUCTS).findOne({ _id: base.id as never }) };
      });
      assert.deepEqual(outcomes.results, [first, "applied", "stale", "stale", "applied", "stale", "applied"]);
    }
  });

  test("an ordered bulk of version-guarded upserts stops at the stale one alike, and the patch says which", async () => {
    const [a, b] = products.filter((p) => !p.deleted);
    assert.ok(a && b);
    const upsert = (id: string, version: number) => ({
      replaceOne: { filter: { _id: id, version: { $lt: version } }, replacement: { version }, upsert: true },
    });
    const run = async (db: Db) => {
      const error = await db
        .collection(PRODUCTS)
        .bulkWrite([upsert(a.id, a.version + 1), upsert(b.id, 1), upsert(a.id, a.version + 2)] as never, {
          ordered: true,
        })
        .then(
          () => undefined,
          (e: { code?: number; writeErrors?: { index: number; code: number }[] }) => ({
            code: e.code,
            failed: [e.writeErrors ?? []].flat().map(({ index, code }) => ({ index, code })),
          }),
        );
      const docs = await db
        .collection(PRODUCTS)
        .find({ _id: { $in: [a.id, b.id] as never[] } })
        .sort({ _id: 1 })
        .toArray();
      return { error, docs };
    };
    const [onStock, onPatched] = [await run(stock), await run(patched)];
    assert.deepEqual(onPatched.docs, onStock.docs, "the same writes ran: the first, not the third");
    // As MongoDB reports it: the second statement (b at version 1, which it has) was the stale one.
    assert.deepEqual(onPatched.error?.failed, [{ index: 1, code: 11000 }]);
    // Stock 1.24.2 reports index 0 whichever statement failed (the patch fixes it; PATCH.md).
    assert.deepEqual(onStock.error?.failed, [{ index: 0, code: 11000 }]);
  });

  test("random replacing upserts, alone and in ordered bulks: the same counts, errors and documents", async () => {
    // The patched build does a replacing upsert with a string _id in one statement when the
    // replacement does not match its filter (PATCH.md, "Upserts"); the others take the usual path.
    // Both kinds, mixed, on one collection and on one with a second unique index (usual path only).
    // Documents are compared as stored: BSON bytes, so field order and number types count.
    const ids = ["u1", "u2", "u3", "u4"];
    type Filter = (id: string, version: number) => Record<string, unknown>;
    const byAnd: Filter = (id, version) => ({ $and: [{ _id: id }, { version: { $lt: version } }] });
    // What a version the filter excludes is: the bound itself for $lt, the next one for $lte.
    const lte: Filter = (id, version) => ({ _id: id, version: { $lte: version } });
    const filters: Filter[] = [
      (id, version) => ({ _id: id, version: { $lt: version } }),
      lte,
      (id, version) => ({ _id: id, deleted: false, version: { $lt: version } }),
      (id, version) => ({ _id: id, $or: [{ version: { $lt: version } }, { deleted: true }] }),
      byAnd,
      (id) => ({ _id: id }),
    ];
    const ops: { filter: Record<string, unknown>; replacement: Record<string, unknown> }[] = [];
    for (let k = 0; k < 120; k++) {
      const previous = ops.at(-1);
      // The same again: a document that already is the replacement is matched, not modified.
      if (previous && random() < 0.2) {
        ops.push(previous);
        continue;
      }
      const id = pick(ids);
      const bound = 1 + Math.floor(random() * 6);
      // Mostly the projection's (a version the filter excludes); sometimes one it lets through, or
      // another _id, which no replacement may bring.
      const filter = pick(filters);
      const excluded = filter === lte ? bound + 1 : bound;
      const version = random() < 0.7 ? excluded : Math.max(0, bound - Math.floor(random() * 3));
      const replacement: Record<string, unknown> = { version, deleted: random() < 0.2, name: pick(WORDS) };
      // Without an _id equality in the filter, the replacement brings one (else the insert makes a
      // new ObjectId, a different one on each server).
      if (filter === byAnd || random() < 0.1) replacement._id = random() < 0.5 ? id : pick(ids);
      ops.push({ filter: filter(id, bound), replacement });
    }
    const uniqueSku = async (db: Db) => {
      await db.collection("upserts_sku").createIndex({ name: 1 }, { name: "unique_name", unique: true });
    };
    await Promise.all([uniqueSku(stock), uniqueSku(patched)]);
    for (const collection of ["upserts", "upserts_sku"]) {
      for (const [k, { filter, replacement }] of ops.entries()) {
        await same(`${collection} #${k}: replaceOne(${JSON.stringify(filter)}, ${JSON.stringify(replacement)})`, (db) =>
          outcome(() => db.collection(collection).replaceOne(filter as never, replacement, { upsert: true })),
        );
      }
      await same(`${collection}: the documents after`, (db) => stored(db, collection));
    }
    // The same statements as ordered bulks of 1 to 8 (the patched build does a bulk's longest prefix
    // it can in one transaction, up to its first stale statement): the same writes run, with the
    // same counts and upserted ids (each at its statement's index), and both fail or neither. (Stock FerretDB reports every
    // failure at index 0; the test above compares the patched build's index with MongoDB's.)
    for (let k = 0; k < ops.length; ) {
      const bulk = ops.slice(k, k + 1 + Math.floor(random() * 8));
      k += bulk.length;
      await same(`upserts_bulk: a bulk of ${JSON.stringify(bulk)}`, async (db) => {
        const collection = db.collection("upserts_bulk");
        const result = await collection
          .bulkWrite(
            bulk.map(({ filter, replacement }) => ({ replaceOne: { filter, replacement, upsert: true } })) as never,
            { ordered: true },
          )
          .then(
            ({ matchedCount, modifiedCount, upsertedCount, upsertedIds }) => ({
              matchedCount,
              modifiedCount,
              upsertedCount,
              upserted: Object.values(upsertedIds),
              // Each upserted _id at its statement's index, as MongoDB reports it; stock FerretDB
              // numbers them 0, 1, 2... (the pushdown patch fixes it).
              indexed:
                db !== patched ||
                Object.entries(upsertedIds).every(
                  ([k, id]) => (bulk[Number(k)]?.filter._id ?? bulk[Number(k)]?.replacement._id) === id,
                ),
            }),
            () => "failed",
          );
        return { result, documents: await stored(db, "upserts_bulk") };
      });
    }
  });

  test("a replacement that leaves the document as it was is matched, not modified, alike", async () => {
    // What the patched build's one statement could not tell (PATCH.md, "Upserts"): such a
    // replacement matches its own filter, so it takes the usual path.
    const doc = { _id: "same", version: 1, name: "Oak" };
    const results = await same("the same replacement twice, by _id and by version", async (db) => {
      const collection = db.collection<{ _id: string }>("unchanged");
      const counts = [];
      for (const filter of [{ _id: "same" }, { _id: "same" }, { _id: "same", version: { $lte: 1 } }]) {
        const { matchedCount, modifiedCount, upsertedCount } = await collection.replaceOne(filter, doc, {
          upsert: true,
        });
        counts.push({ matchedCount, modifiedCount, upsertedCount });
      }
      return counts;
    });
    assert.deepEqual(results.slice(1), [
      { matchedCount: 1, modifiedCount: 0, upsertedCount: 0 },
      { matchedCount: 1, modifiedCount: 0, upsertedCount: 0 },
    ]);
  });

  test("a replacement equal to the filter's equalities but for number types is stored as it says, alike", async () => {
    // The stock upsert would insert the filter's values if the replacement compares equal to them
    // (1 and 1.0 do) and replaces with the replacement's, so the patched build, which builds one
    // document for both, leaves such a statement to the usual path.
    const results = await same("replacing {n: 1} by {n: 1.0}", async (db) => {
      const collection = db.collection("number_types");
      await collection.insertOne({ _id: "n" as never, n: new Int32(1), version: 3 });
      const filter = { _id: "n", n: 1, version: { $lt: 5 } } as never;
      const { matchedCount, modifiedCount } = await collection.replaceOne(
        filter,
        { _id: "n" as never, n: new Double(1) },
        { upsert: true },
      );
      return { matchedCount, modifiedCount, documents: await stored(db, "number_types") };
    });
    assert.equal(results.modifiedCount, 1);
  });

  test("a bulk of the projection's upserts is one transaction on the patched build, one a write on stock", async () => {
    // Every row a transaction writes carries its id (xmin): the patched build writes a bulk's rows
    // in one, stock FerretDB each in its own.
    const writes = 12;
    const transactions = async (db: Db, url: string) => {
      await db.collection("one_transaction").bulkWrite(
        Array.from({ length: writes }, (_, i) => ({
          replaceOne: { filter: { _id: `t${i}`, version: { $lt: 1 } }, replacement: { version: 1 }, upsert: true },
        })) as never,
        { ordered: true },
      );
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const [table] = await sql<{ name: string }[]>`
          select table_name as name from information_schema.tables
          where table_schema = ${name} and table_name like 'one_transaction%'`;
        assert.ok(table, "no table for the collection");
        const [row] = await sql<{ rows: number; transactions: number }[]>`
          select count(*)::int as rows, count(distinct xmin::text)::int as transactions
          from ${sql(name)}.${sql(table.name)}`;
        return row;
      } finally {
        await sql.end({ timeout: 5 });
      }
    };
    const [onPatched, onStock] = await Promise.all([
      transactions(patched, config.postgres.ferretdbUrl),
      transactions(stock, pgUrl(stockPgDatabase)),
    ]);
    assert.deepEqual(onStock, { rows: writes, transactions: writes });
    assert.deepEqual(onPatched, { rows: writes, transactions: 1 });
  });

  test("an update command of more statements than FerretDB's 50 pooled connections completes", async () => {
    // $lte: the replacement matches its own filter, so the patched build takes the usual path, one
    // pooled connection after another (the pushdown patch's fix; PATCH.md).
    const many = products.slice(0, 80);
    const result = await patched.collection(PRODUCTS).bulkWrite(
      many.map((p) => ({
        replaceOne: { filter: { _id: p.id, version: { $lte: 1000 } }, replacement: { version: 1000 }, upsert: true },
      })) as never,
      { ordered: true },
    );
    assert.equal(result.modifiedCount + result.upsertedCount, many.length);
  });
});
