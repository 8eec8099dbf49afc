// Every query the read model can build has an index that serves it, on both servers it may run on
// (docs/architecture.md, "FerretDB pushdown"), and the read model's documents keep the constraints
// the pushdown relies on (infra/ferretdb/PATCH.md):
//   - MongoDB, by the equality-sort-range rule: an index whose keys are equality-matched fields,
//     then the sort's keys in its directions (or all reversed), then anything; so the sort needs no
//     blocking sort stage. Every other filtered field also leads some index.
//   - FerretDB with pushdown.patch: the same, but no field counts as equality-matched (`{f: v}`
//     is `@>`, which a btree cannot bound; only `_id` uses `=`, and no list filters on it): the
//     sort's keys must lead the index.
//   - C1 and C2: each sorted or range-queried field holds one type, never an array or null.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Filter } from "mongodb";
import { type ProductState, eventData as productData } from "#functions/products/product.ts";
import { INDEXES as PRODUCT_INDEXES, productProjection } from "#functions/products/product-read-model.ts";
import {
  buildFilter as productFilter,
  buildSort as productSort,
} from "#functions/products/search-products/search-products.handler.ts";
import { SORTS as PRODUCT_SORTS } from "#functions/products/search-products/search-products.ts";
import { buildFilter as userFilter, buildSort as userSort } from "#functions/users/list-users/list-users.handler.ts";
import { SORTS as USER_SORTS } from "#functions/users/list-users/list-users.ts";
import { type UserState, eventData as userData } from "#functions/users/user.ts";
import { INDEXES as USER_INDEXES, userProjection } from "#functions/users/user-read-model.ts";
import type { ReadModelDoc } from "#shared/read-side/versioned-projection.ts";

type Sort = Record<string, 1 | -1>;
interface Index {
  key: Readonly<Record<string, unknown>>;
  name: string;
}
interface Condition {
  field: string;
  kind: "equality" | "range" | "all";
}

/** The conditions of a filter, and whether each is ANDed at the top (so can bound an index). */
function conditions(filter: Filter<ReadModelDoc>, top = true): (Condition & { top: boolean })[] {
  return Object.entries(filter).flatMap(([key, value]) => {
    if (key === "$and") return (value as Filter<ReadModelDoc>[]).flatMap((part) => conditions(part, top));
    if (key === "$or") return (value as Filter<ReadModelDoc>[]).flatMap((part) => conditions(part, false));
    assert.ok(!key.startsWith("$"), `an operator the index check does not know: ${key}`);
    const ops = typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
    if (ops.length === 0) return [{ field: key, kind: "equality" as const, top }];
    return ops.map((op) => {
      if (op === "$all") return { field: key, kind: "all" as const, top };
      assert.ok(["$gt", "$gte", "$lt", "$lte"].includes(op), `an operator the index check does not know: ${op}`);
      return { field: key, kind: "range" as const, top };
    });
  });
}

/** Whether `index` gives `sort`'s order with `equality` fields fixed: keys E*, then the sort's, then any. */
function servesSort(index: Index, sort: Sort, equality: ReadonlySet<string>): boolean {
  const keys = Object.entries(index.key);
  const wanted = Object.entries(sort);
  const start = keys.findIndex(([field]) => field === wanted[0]?.[0]);
  if (start < 0 || keys.slice(0, start).some(([field]) => !equality.has(field))) return false;
  const flip = Number(keys[start]?.[1]) * Number(wanted[0]?.[1]);
  return wanted.every(([field, direction], i) => {
    const [key, keyDirection] = keys[start + i] ?? [];
    return key === field && Number(keyDirection) * direction === flip;
  });
}

interface Query {
  what: string;
  filter: Filter<ReadModelDoc>;
  sort: Sort;
}

function check(queries: Query[], indexes: readonly Index[], deletedStatistics: boolean) {
  const used = new Set<string>();
  for (const { what, filter, sort } of queries) {
    const found = conditions(filter);
    const mongoEquality = new Set(found.filter((c) => c.top && c.kind === "equality").map((c) => c.field));
    const mongo = indexes.filter((index) => servesSort(index, sort, mongoEquality));
    assert.ok(mongo.length > 0, `${what}: no index gives MongoDB the order ${JSON.stringify(sort)}`);
    const ferret = indexes.filter((index) => servesSort(index, sort, new Set()));
    assert.ok(ferret.length > 0, `${what}: no index led by ${JSON.stringify(sort)} for FerretDB`);
    for (const index of [...mongo, ...ferret]) used.add(index.name);
    for (const { field } of found) {
      if (field === "deleted") {
        // Selects nothing, but is how FerretDB's PostgreSQL gets statistics on `deleted`, without
        // which it costs `deleted: false` at 1% of the rows (product-read-model.ts; the users
        // go without, user-read-model.ts says why).
        const statistics = indexes.find((index) => Object.keys(index.key).join() === "deleted");
        assert.equal(statistics !== undefined, deletedStatistics, `${what}: an index on deleted alone`);
        if (statistics) used.add(statistics.name);
        continue;
      }
      if (field === "_id" || field in sort) continue;
      const leading = indexes.find((index) => {
        const keys = Object.keys(index.key);
        return keys[0] === field || (keys[0] === "deleted" && keys[1] === field);
      });
      assert.ok(leading, `${what}: no index for MongoDB to find ${field} by`);
      used.add(leading.name);
      // FerretDB pushes equality and $all on a field as containment (@>), which only GIN serves.
      const containment = found.some((c) => c.field === field && c.kind !== "range");
      if (containment) {
        assert.ok(
          indexes.some((index) => index.name.endsWith("_gin") && Object.keys(index.key).join() === field),
          `${what}: no GIN index (named *_gin, on ${field} alone) for FerretDB to find ${field} by`,
        );
      }
    }
  }
  assert.deepEqual(
    indexes.map((index) => index.name).filter((name) => !used.has(name)),
    [],
    "an index that no query uses",
  );
}

const CURSOR_ID = "01890f4e-7b7a-7cc0-8b6e-3c2f1a9d4e51";

/** Every product search shape, with and without a cursor, in every sort. */
const productQueries: Query[] = PRODUCT_SORTS.sorts.flatMap((sort) => {
  const requests = [
    {},
    { q: "wid" },
    { q: "wid gad" },
    { tag: "tools" },
    { minPriceCents: 1 },
    { maxPriceCents: 9 },
    { q: "wid", tag: "tools", minPriceCents: 1, maxPriceCents: 9 },
  ];
  const last = sort.endsWith("priceCents") ? 100 : sort.endsWith("createdAt") ? "2025-01-01T00:00:00.000Z" : "w";
  const cursor = PRODUCT_SORTS.encode(sort, last, CURSOR_ID);
  return [...requests, ...requests.map((request) => ({ ...request, cursor }))].map((request) => ({
    what: `sort=${sort} ${JSON.stringify(request)}`,
    filter: productFilter(request, sort),
    sort: productSort(sort),
  }));
});

/** Every user listing shape (q as name words, as an email prefix, or both), with and without a cursor. */
const userQueries: Query[] = USER_SORTS.sorts.flatMap((sort) => {
  const requests = [{}, { q: "ada" }, { q: "ada love" }, { q: "ada.l@ex" }];
  const last = sort.endsWith("createdAt") ? "2025-01-01T00:00:00.000Z" : "a";
  const cursor = USER_SORTS.encode(sort, last, CURSOR_ID);
  return [...requests, ...requests.map((request) => ({ ...request, cursor }))].map((request) => ({
    what: `sort=${sort} ${JSON.stringify(request)}`,
    filter: userFilter(request, sort),
    sort: userSort(sort),
  }));
});

describe("read-model indexes", () => {
  test("every product search has an index for MongoDB and for FerretDB", () =>
    check(productQueries, PRODUCT_INDEXES, true));
  test("every user listing has an index for MongoDB and for FerretDB", () => check(userQueries, USER_INDEXES, false));
});

describe("the read model keeps the pushdown's constraints", () => {
  const when = new Date("2025-01-02T03:04:05.000Z");
  const product: ProductState = {
    id: CURSOR_ID,
    sku: "S-1",
    name: "Crème Brûlée",
    description: "",
    priceCents: 0,
    currency: "EUR",
    stock: 0,
    tags: [],
    version: 1,
    createdAt: when,
    updatedAt: when,
    deleted: false,
  };
  const user: UserState = {
    id: CURSOR_ID,
    email: "Ada@Example.com",
    name: "Ada",
    subject: null,
    version: 1,
    createdAt: when,
    updatedAt: when,
    deleted: false,
  };
  const cases = [
    {
      what: "products",
      queries: productQueries,
      docs: [product, { ...product, deleted: true }].map((p) => productProjection.document(productData(p))),
    },
    {
      what: "users",
      queries: userQueries,
      docs: [user, { ...user, deleted: true }].map((u) => userProjection.document(userData(u))),
    },
  ];
  for (const { what, queries, docs } of cases) {
    test(`${what}: every sorted or range-queried field is a string or a number on a live document, absent on a tombstone`, () => {
      const fields = new Set(
        queries.flatMap(({ filter, sort }) => [
          ...Object.keys(sort),
          ...conditions(filter)
            .filter((c) => c.kind === "range")
            .map((c) => c.field),
        ]),
      );
      fields.delete("_id"); // a string the projection always sets
      assert.ok(fields.size >= 3);
      const [live, tombstone] = docs as Record<string, unknown>[];
      for (const field of fields) {
        assert.match(typeof live?.[field], /^(string|number)$/, `${field} on a live document`);
        assert.ok(!(field in (tombstone ?? {})), `${field} on a tombstone`);
      }
    });
  }
});
