// The benchmark's generator (data.ts): the same data for the same seed on every run and machine,
// every item valid by the aggregates' own field rules, unique ids, skus and emails, 5% deleted, and
// each search shape matching its stated share of the live items at every size. The shares are
// counted over the read-model documents the projections make, with the filters the query handlers
// build, so a change to the matching rules shows here.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import * as v from "valibot";
import { type ProductState, eventData as productData } from "#functions/products/product.ts";
import { productEvents } from "#functions/products/product-events.ts";
import { fields as productFields } from "#functions/products/product-fields.ts";
import { productProjection } from "#functions/products/product-read-model.ts";
import { buildFilter as productFilter } from "#functions/products/search-products/search-products.handler.ts";
import { SORTS as PRODUCT_SORTS, SearchProductsQuery } from "#functions/products/search-products/search-products.ts";
import { buildFilter as userFilter } from "#functions/users/list-users/list-users.handler.ts";
import { ListUsersQuery, SORTS as USER_SORTS } from "#functions/users/list-users/list-users.ts";
import { type UserState, eventData as userData } from "#functions/users/user.ts";
import { userEvents } from "#functions/users/user-events.ts";
import { fields as userFields } from "#functions/users/user-fields.ts";
import { userProjection } from "#functions/users/user-read-model.ts";
import type { SortOf, SortOrders } from "#shared/transport/cursor.ts";
import { Id } from "#shared/transport/fields.ts";
import {
  ALL_TAGS,
  GENERATOR_VERSION,
  generateProducts,
  generateUsers,
  newProductFields,
  newUserFields,
  paramsKey,
  SEARCH_SHAPES,
  type SearchShape,
  withCursor,
} from "./data.ts";

/**
 * sha256 of the 1k products and users of seed 1. A change to the generator changes it: then raise
 * GENERATOR_VERSION (kept data sets are named by it) and put the new digest here.
 */
const DIGEST_OF_SEED_1 = "9abacc2d117879e6d56d498f67c43ef9ee0efb78364f516de3f8bc4e05b5894a";

const digest = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex");

type Doc = Record<string, unknown>;
type Filter = Record<string, unknown>;

const isOperators = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).every((key) => key.startsWith("$"));

/** a < b as MongoDB orders values of one type; values of different types never compare. */
function ordered(a: unknown, b: unknown): number | undefined {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

/**
 * MongoDB's matching, for the operators the handlers' filters use ($and, $or, equality with an
 * array field meaning "contains", $all and the range operators): the filter is the handler's own.
 */
function matches(doc: Doc, filter: Filter): boolean {
  return Object.entries(filter).every(([key, condition]) => {
    if (key === "$and") return (condition as Filter[]).every((part) => matches(doc, part));
    if (key === "$or") return (condition as Filter[]).some((part) => matches(doc, part));
    const value = doc[key];
    if (!isOperators(condition)) return Array.isArray(value) ? value.includes(condition) : value === condition;
    return Object.entries(condition).every(([op, arg]) => {
      if (op === "$all") return Array.isArray(value) && (arg as unknown[]).every((item) => value.includes(item));
      const order = ordered(value, arg);
      if (order === undefined) return false;
      if (op === "$gt") return order > 0;
      if (op === "$gte") return order >= 0;
      if (op === "$lt") return order < 0;
      if (op === "$lte") return order <= 0;
      throw new Error(`the matcher does not know ${op}`);
    });
  });
}

const productDocs = (products: ProductState[]): Doc[] =>
  products.map((p) => ({ _id: p.id, ...productProjection.document(productData(p)) }));
const userDocs = (users: UserState[]): Doc[] =>
  users.map((u) => ({ _id: u.id, ...userProjection.document(userData(u)) }));

/** The read-model fields each list sorts on (the handlers' keyset mappings). */
const SORT_FIELDS: Record<string, string> = {
  name: "sortName",
  email: "sortEmail",
  priceCents: "priceCents",
  createdAt: "createdAt",
};

/** The cursor a page ending at `last` answers with, in `sort` of `orders`. */
function cursorAfter<K extends string>(orders: SortOrders<K>, sort: SortOf<K>, page: Doc[]): string {
  const last = page.at(-1);
  assert.ok(last, "the first page is not empty");
  const value = last[SORT_FIELDS[orders.parts(sort).name] ?? ""];
  assert.ok(typeof value === "string" || typeof value === "number");
  return orders.encode(sort, value, String(last._id));
}

interface Query {
  /** The handler's whole filter. */
  filter: Filter;
  /** The first page of `docs`, in the query's order. */
  firstPage(docs: Doc[]): Doc[];
  /** The cursor that page answers with. */
  nextCursor(page: Doc[]): string;
}

/** What a shape's query string (parsed as the gateway parses it), with a cursor, asks the handler. */
function queryOf(shape: SearchShape, cursor?: string): Query {
  const url = new URL(cursor === undefined ? shape.path : withCursor(shape.path, cursor), "http://bench");
  const input = Object.fromEntries(url.searchParams);
  const limit = Number(url.searchParams.get("limit") ?? 20);
  const query = <K extends string>(orders: SortOrders<K>, sort: SortOf<K>, filter: Filter): Query => {
    const { name, direction } = orders.parts(sort);
    const field = SORT_FIELDS[name] ?? "";
    return {
      filter,
      firstPage: (docs) =>
        docs
          .filter((doc) => matches(doc, filter))
          .sort((a, b) => direction * (ordered(a[field], b[field]) || (ordered(a._id, b._id) ?? 0)))
          .slice(0, limit),
      nextCursor: (page) => cursorAfter(orders, sort, page),
    };
  };
  if (shape.collection === "products") {
    const request = v.parse(SearchProductsQuery, input);
    const sort = PRODUCT_SORTS.sortFor(request);
    return query(PRODUCT_SORTS, sort, productFilter(request, sort) as Filter);
  }
  const request = v.parse(ListUsersQuery, input);
  const sort = USER_SORTS.sortFor(request);
  return query(USER_SORTS, sort, userFilter(request, sort) as Filter);
}

/** The share of live documents each shape matches. */
function selectivities(products: Doc[], users: Doc[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const shape of SEARCH_SHAPES) {
    const docs = shape.collection === "products" ? products : users;
    const live = docs.filter((doc) => doc.deleted === false).length;
    const parent = SEARCH_SHAPES.find((other) => other.id === shape.needsCursorFrom);
    let cursor: string | undefined;
    if (parent !== undefined) {
      const first = queryOf(parent);
      cursor = first.nextCursor(first.firstPage(docs));
    }
    const { filter } = queryOf(shape, cursor);
    out.set(shape.id, docs.filter((doc) => matches(doc, filter)).length / live);
  }
  return out;
}

const productFieldsOf = ({ sku, name, description, priceCents, currency, stock, tags }: ProductState) => ({
  sku,
  name,
  description,
  priceCents,
  currency,
  stock,
  tags,
});

describe("the benchmark's generator", () => {
  const products1k = generateProducts({ count: 1000, seed: 1 });
  const users1k = generateUsers({ count: 1000, seed: 1 });
  const products10k = generateProducts({ count: 10_000, seed: 1 });
  const users10k = generateUsers({ count: 10_000, seed: 1 });

  test("the same seed gives the same data, another seed other data, and a size is a prefix of a larger one", () => {
    assert.deepEqual(generateProducts({ count: 1000, seed: 1 }), products1k);
    assert.deepEqual(generateUsers({ count: 1000, seed: 1 }), users1k);
    assert.deepEqual(products10k.slice(0, 1000), products1k);
    assert.deepEqual(users10k.slice(0, 1000), users1k);
    const other = generateProducts({ count: 1000, seed: 2 });
    const otherUsers = generateUsers({ count: 1000, seed: 2 });
    assert.equal(
      other.filter((p, i) => p.id === products1k[i]?.id || p.name === products1k[i]?.name).length < 100,
      true,
    );
    assert.notEqual(digest(otherUsers), digest(users1k));
  });

  test("the data of seed 1 is the one this GENERATOR_VERSION names (the same on every machine)", () => {
    assert.equal(
      digest({ products: products1k, users: users1k }),
      DIGEST_OF_SEED_1,
      `the generator's output changed: raise GENERATOR_VERSION (now ${GENERATOR_VERSION}) and update DIGEST_OF_SEED_1`,
    );
  });

  test("every product and user is valid by the aggregate's field rules and event schema", () => {
    const productSchema = v.strictObject(productFields);
    for (const p of products10k) {
      // Parsing changes nothing: the fields are already as the writer would store them.
      assert.deepEqual(v.parse(productSchema, productFieldsOf(p)), productFieldsOf(p));
      assert.ok(v.is(Id, p.id), p.id);
      assert.ok(v.is(productEvents.data, productData(p)), p.id);
      assert.ok(p.updatedAt >= p.createdAt);
      assert.equal(p.version, p.deleted ? 2 : 1);
      for (const tag of p.tags) assert.ok(ALL_TAGS.includes(tag), tag);
    }
    const userSchema = v.strictObject(userFields);
    for (const u of users10k) {
      assert.deepEqual(v.parse(userSchema, { email: u.email, name: u.name }), { email: u.email, name: u.name });
      assert.ok(v.is(Id, u.id), u.id);
      assert.ok(v.is(userEvents.data, userData(u)), u.id);
      assert.equal(u.version, u.deleted ? 2 : 1);
    }
    assert.equal(ALL_TAGS.length, 50);
    assert.equal(new Set(ALL_TAGS).size, 50);
  });

  test("ids are UUIDv7 in creation order; ids, skus and emails are unique, and creates never reuse them", () => {
    for (const items of [products10k, users10k]) {
      assert.equal(new Set(items.map((item) => item.id)).size, items.length);
      for (const item of items) {
        assert.equal(item.id[14], "7");
        assert.equal(item.id.replaceAll("-", "").slice(0, 12), item.createdAt.getTime().toString(16).padStart(12, "0"));
      }
    }
    const skus = new Set(products10k.map((p) => p.sku));
    assert.equal(skus.size, products10k.length);
    for (const sku of skus) assert.match(sku, /^BENCH-/);
    const emails = new Set(users10k.map((u) => u.email.toLowerCase()));
    assert.equal(emails.size, users10k.length);
    for (let n = 0; n < 100; n++) {
      assert.ok(!skus.has(newProductFields(1, "r1", n).sku));
      assert.ok(!emails.has(newUserFields(1, "r1", n).email.toLowerCase()));
      assert.deepEqual(
        v.parse(v.strictObject(productFields), newProductFields(1, "r1", n)),
        newProductFields(1, "r1", n),
      );
      assert.ok(v.is(v.strictObject(userFields), newUserFields(1, "r1", n)));
    }
    assert.notEqual(newProductFields(1, "r1", 0).sku, newProductFields(1, "r2", 0).sku);
  });

  test("5% are deleted, exactly at every multiple of 100 and within one block's rounding below", () => {
    for (const items of [products1k, products10k, users1k, users10k]) {
      assert.equal(items.filter((item) => item.deleted).length, items.length / 20);
    }
    for (const count of [60, 150, 250]) {
      const deleted = generateProducts({ count, seed: 3 }).filter((p) => p.deleted).length;
      assert.ok(Math.abs(deleted - count / 20) <= 5, `${deleted} of ${count}`);
    }
  });

  test("paramsKey is short, stable, independent of key order, and changes with any parameter", () => {
    const key = paramsKey({ products: 100_000, users: 10_000, seed: 1 });
    assert.match(key, /^g\d+-[0-9a-f]{12}$/);
    assert.equal(paramsKey({ seed: 1, users: 10_000, products: 100_000 }), key);
    assert.notEqual(paramsKey({ products: 100_000, users: 10_000, seed: 2 }), key);
    assert.notEqual(paramsKey({ products: 10_000, users: 10_000, seed: 1 }), key);
  });

  test("shape ids are unique and a next-page shape names a shape before it", () => {
    const ids = SEARCH_SHAPES.map((shape) => shape.id);
    assert.equal(new Set(ids).size, ids.length);
    SEARCH_SHAPES.forEach((shape, i) => {
      if (shape.needsCursorFrom !== undefined) assert.ok(ids.slice(0, i).includes(shape.needsCursorFrom), shape.id);
    });
  });

  // Not 100k: its documents alone take ~1.5 s to build, and the roles are dealt per block of 100,
  // so 100k holds exactly ten times what 10k does.
  const sizes: [string, ProductState[], UserState[]][] = [
    ["1k", products1k, users1k],
    ["10k", products10k, users10k],
  ];
  for (const [size, products, users] of sizes) {
    test(`at ${size}, each search shape matches its stated share of live items within 30%`, () => {
      const measured = selectivities(productDocs(products), userDocs(users));
      for (const shape of SEARCH_SHAPES) {
        const actual = measured.get(shape.id) ?? Number.NaN;
        assert.ok(
          Math.abs(actual / shape.selectivity - 1) <= 0.3,
          `${shape.id}: ${actual} matched, ${shape.selectivity} stated`,
        );
      }
    });
  }
});
