// Unit tests of SearchProducts' pure parts: the opaque cursor, the MongoDB filter, the query schema.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { DomainError } from "#shared/platform/errors.ts";
import type { SortOf } from "#shared/transport/cursor.ts";
import { buildFilter, impliedPrefix } from "./search-products.handler.ts";
import { SearchProductsQuery, SORTS } from "./search-products.ts";

type Sort = SortOf<(typeof SORTS.names)[number]>;
const encodeCursor = (cursor: { sort: Sort; last: string | number; id: string }) =>
  SORTS.encode(cursor.sort, cursor.last, cursor.id);
const decodeCursor = (raw: string, sort: Sort) => ({ sort, ...SORTS.decode(raw, sort) });

const ID = "01890f4e-7b7a-7cc0-8b6e-3c2f1a9d4e51";

const b64 = (text: string) => Buffer.from(text).toString("base64url");

/** Asserts `fn` throws invalid_input with an error on `cursor` whose message matches `message`. */
function assertBadCursor(fn: () => unknown, message: RegExp = /not a cursor this API gave out/) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.code, "invalid_input");
    assert.equal(error.errors?.length, 1);
    assert.equal(error.errors?.[0]?.path, "cursor");
    assert.match(error.errors?.[0]?.message ?? "", message);
    return true;
  });
}

describe("cursor", () => {
  const cases = [
    { sort: "name", last: "widget" },
    { sort: "-name", last: 'ünïcode, "quoted" / slashed' },
    { sort: "priceCents", last: 0 },
    { sort: "-priceCents", last: 1_000_000_000_000 },
    { sort: "createdAt", last: "2025-01-02T03:04:05.000Z" },
    { sort: "-createdAt", last: "2025-01-02T03:04:05.000Z" },
  ] as const;
  for (const { sort, last } of cases) {
    test(`round trips for sort=${sort}`, () => {
      const raw = encodeCursor({ sort, last, id: ID });
      assert.match(raw, /^[A-Za-z0-9_-]+$/, "a cursor is URL-safe without encoding");
      assert.deepEqual(decodeCursor(raw, sort), { sort, last, id: ID });
    });
  }

  test("garbage is invalid_input on cursor", () => {
    for (const raw of ["", "!!!", "not a cursor", b64("{not json"), b64("nul")]) {
      assertBadCursor(() => decodeCursor(raw, "name"));
    }
  });

  test("JSON of the wrong shape is invalid_input on cursor", () => {
    const shapes = [
      { sort: "name", last: "a", id: ID },
      ["name", "a"],
      ["name", "a", ID, "extra"],
      ["name", "a", "not-a-uuid"],
      ["name", true, ID],
      ["name", null, ID],
      ["sideways", "a", ID],
      "name",
      42,
      null,
    ];
    for (const shape of shapes) assertBadCursor(() => decodeCursor(b64(JSON.stringify(shape)), "name"));
  });

  test("a cursor whose last value has the wrong type for its sort is invalid_input on cursor", () => {
    assertBadCursor(() => decodeCursor(b64(JSON.stringify(["priceCents", "abc", ID])), "priceCents"));
    assertBadCursor(() => decodeCursor(b64(JSON.stringify(["name", 3, ID])), "name"));
  });

  test("a cursor from another sort is invalid_input on cursor, naming both sorts", () => {
    const raw = encodeCursor({ sort: "priceCents", last: 100, id: ID });
    assertBadCursor(() => decodeCursor(raw, "-priceCents"), /sort=priceCents.*sort=-priceCents/);
    assertBadCursor(() => decodeCursor(raw, "name"), /sort=priceCents/);
  });
});

describe("buildFilter", () => {
  /** A first page by name starts at the least name (shared/read-side/keyset.ts). */
  const FROM_FIRST_NAME = { sortName: { $gte: "" } };

  test("with nothing given, only live products", () => {
    assert.deepEqual(buildFilter({}, "name"), { $and: [{ deleted: false }, FROM_FIRST_NAME] });
  });

  test("a first page is bounded below by the sort field's least value, past documents without it", () => {
    const fromLeastPrice = { priceCents: { $gte: Number.MIN_SAFE_INTEGER } };
    for (const sort of ["priceCents", "-priceCents"] as const) {
      assert.deepEqual(buildFilter({}, sort), { $and: [{ deleted: false }, fromLeastPrice] }, sort);
    }
    for (const sort of ["createdAt", "-createdAt"] as const) {
      assert.deepEqual(buildFilter({}, sort), { $and: [{ deleted: false }, { createdAt: { $gte: "" } }] }, sort);
    }
    assert.deepEqual(buildFilter({}, "-name"), { $and: [{ deleted: false }, FROM_FIRST_NAME] });
  });

  test("q: every folded query word must be among the prefixes", () => {
    assert.deepEqual(buildFilter({ q: "Crème WID crème" }, "name"), {
      $and: [{ deleted: false }, { prefixes: { $all: ["creme", "wid"] } }, { prefixes: "crem" }, FROM_FIRST_NAME],
    });
  });

  test("q: the longest word one character shorter, implied, for PostgreSQL's estimate", () => {
    assert.equal(impliedPrefix(["heirl"]), "heir");
    assert.equal(impliedPrefix(["oak", "heirl"]), "heir");
    assert.equal(impliedPrefix(["émi"]), "ém", "by code point, not UTF-16 unit");
    assert.equal(impliedPrefix(["a"]), undefined, "a one-letter word implies nothing");
    assert.equal(impliedPrefix(["heir", "heirl"]), undefined, "already asked for");
    assert.equal(impliedPrefix([]), undefined);
  });

  test("a blank q adds no condition", () => {
    assert.deepEqual(buildFilter({ q: "  -- " }, "name"), { $and: [{ deleted: false }, FROM_FIRST_NAME] });
  });

  test("tag and price bounds", () => {
    assert.deepEqual(buildFilter({ tag: "tools", minPriceCents: 100, maxPriceCents: 500 }, "priceCents"), {
      $and: [
        { deleted: false },
        { tags: "tools" },
        { priceCents: { $gte: 100 } },
        { priceCents: { $lte: 500 } },
        { priceCents: { $gte: Number.MIN_SAFE_INTEGER } },
      ],
    });
  });

  test("a price bound of 0 still counts", () => {
    assert.deepEqual(buildFilter({ minPriceCents: 0, maxPriceCents: 0 }, "name"), {
      $and: [{ deleted: false }, { priceCents: { $gte: 0 } }, { priceCents: { $lte: 0 } }, FROM_FIRST_NAME],
    });
  });

  const keysets = [
    { sort: "name", field: "sortName", op: "$gt", last: "widget" },
    { sort: "-name", field: "sortName", op: "$lt", last: "widget" },
    { sort: "priceCents", field: "priceCents", op: "$gt", last: 1999 },
    { sort: "-priceCents", field: "priceCents", op: "$lt", last: 1999 },
    { sort: "createdAt", field: "createdAt", op: "$gt", last: "2025-01-02T03:04:05.000Z" },
    { sort: "-createdAt", field: "createdAt", op: "$lt", last: "2025-01-02T03:04:05.000Z" },
  ] as const;
  for (const { sort, field, op, last } of keysets) {
    test(`cursor for sort=${sort}: after (${field}, _id) with ${op}`, () => {
      const cursor = encodeCursor({ sort, last, id: ID });
      assert.deepEqual(buildFilter({ cursor }, sort), {
        $and: [{ deleted: false }, { $or: [{ [field]: { [op]: last } }, { [field]: last, _id: { [op]: ID } }] }],
      });
    });
  }

  test("every condition together", () => {
    const cursor = encodeCursor({ sort: "-priceCents", last: 300, id: ID });
    assert.deepEqual(
      buildFilter({ q: "wid", tag: "tools", minPriceCents: 1, maxPriceCents: 999, cursor }, "-priceCents"),
      {
        $and: [
          { deleted: false },
          { prefixes: { $all: ["wid"] } },
          { prefixes: "wi" },
          { tags: "tools" },
          { priceCents: { $gte: 1 } },
          { priceCents: { $lte: 999 } },
          { $or: [{ priceCents: { $lt: 300 } }, { priceCents: 300, _id: { $lt: ID } }] },
        ],
      },
    );
  });

  test("a cursor from another sort is refused", () => {
    const cursor = encodeCursor({ sort: "name", last: "a", id: ID });
    assertBadCursor(() => buildFilter({ cursor }, "createdAt"), /sort=name/);
  });
});

/** The output of the query schema, or the dot paths of its issues. */
function parseQuery(input: Record<string, string>) {
  const result = v.safeParse(SearchProductsQuery, input);
  return result.success
    ? { ok: true as const, output: result.output }
    : { ok: false as const, paths: result.issues.map((issue) => v.getDotPath(issue)) };
}

describe("SearchProductsQuery", () => {
  test("everything absent is valid", () => {
    assert.deepEqual(parseQuery({}), { ok: true, output: {} });
  });

  test("coerces numeric strings and lower-cases the tag", () => {
    const validCursor = encodeCursor({ sort: "-priceCents", last: 1200, id: "0190d3f0-0000-7000-8000-000000000000" });
    assert.deepEqual(
      parseQuery({
        q: "Wid",
        tag: "Tools",
        minPriceCents: "0",
        maxPriceCents: "2500",
        sort: "-priceCents",
        limit: "100",
        cursor: validCursor,
      }),
      {
        ok: true,
        output: {
          q: "Wid",
          tag: "tools",
          minPriceCents: 0,
          maxPriceCents: 2500,
          sort: "-priceCents",
          limit: 100,
          cursor: validCursor,
        },
      },
    );
  });

  test("equal price bounds are a valid range", () => {
    assert.deepEqual(parseQuery({ minPriceCents: "7", maxPriceCents: "7" }), {
      ok: true,
      output: { minPriceCents: 7, maxPriceCents: 7 },
    });
  });

  test("unknown parameters are refused by name", () => {
    assert.deepEqual(parseQuery({ page: "2" }), { ok: false, paths: ["page"] });
  });

  for (const limit of ["0", "101", "-1", "1.5", "ten", ""]) {
    test(`limit=${JSON.stringify(limit)} is refused`, () => {
      assert.deepEqual(parseQuery({ limit }), { ok: false, paths: ["limit"] });
    });
  }

  test("limit bounds 1 and 100 are accepted", () => {
    assert.deepEqual(parseQuery({ limit: "1" }), { ok: true, output: { limit: 1 } });
    assert.deepEqual(parseQuery({ limit: "100" }), { ok: true, output: { limit: 100 } });
  });

  for (const price of ["abc", "12.5", "1e3", "-1", "0x10", "1000000000001", ""]) {
    test(`price ${JSON.stringify(price)} is refused on both bounds`, () => {
      assert.deepEqual(parseQuery({ minPriceCents: price }), { ok: false, paths: ["minPriceCents"] });
      assert.deepEqual(parseQuery({ maxPriceCents: price }), { ok: false, paths: ["maxPriceCents"] });
    });
  }

  test("min > max is refused on minPriceCents", () => {
    const result = v.safeParse(SearchProductsQuery, { minPriceCents: "500", maxPriceCents: "499" });
    assert.equal(result.success, false);
    assert.deepEqual(
      result.issues?.map((issue) => [v.getDotPath(issue), issue.message]),
      [["minPriceCents", "minPriceCents must not exceed maxPriceCents"]],
    );
  });

  test("an unknown sort is refused", () => {
    assert.deepEqual(parseQuery({ sort: "price" }), { ok: false, paths: ["sort"] });
  });

  test("q over 200 characters, an empty tag and a padded one are refused", () => {
    assert.deepEqual(parseQuery({ q: "x".repeat(201) }), { ok: false, paths: ["q"] });
    assert.deepEqual(parseQuery({ tag: "" }), { ok: false, paths: ["tag"] });
    assert.deepEqual(parseQuery({ tag: " tools" }), { ok: false, paths: ["tag"] });
  });

  test("several bad parameters are all named", () => {
    const result = parseQuery({ limit: "0", sort: "up", minPriceCents: "x" });
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok ? [] : result.paths.sort(), ["limit", "minPriceCents", "sort"]);
  });
});
