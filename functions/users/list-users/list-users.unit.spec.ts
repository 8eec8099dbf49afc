// Unit tests of ListUsers' pure parts: the opaque cursor, the MongoDB filter, the query schema.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { DomainError } from "#shared/platform/errors.ts";
import type { SortOf } from "#shared/transport/cursor.ts";
import { buildFilter } from "./list-users.handler.ts";
import { ListUsersQuery, SORTS } from "./list-users.ts";

type Sort = SortOf<(typeof SORTS.names)[number]>;
const encodeCursor = (cursor: { sort: Sort; last: string; id: string }) =>
  SORTS.encode(cursor.sort, cursor.last, cursor.id);
const decodeCursor = (raw: string, sort: Sort) => ({ sort, ...SORTS.decode(raw, sort) });

const ID = "01890f4e-7b7a-7cc0-8b6e-3c2f1a9d4e51";
const TOP = "\u{10FFFF}";

const b64 = (text: string) => Buffer.from(text).toString("base64url");

function assertBadCursor(fn: () => unknown, message: RegExp = /not a cursor this API gave out/) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.code, "invalid_input");
    assert.deepEqual(
      error.errors?.map((e) => e.path),
      ["cursor"],
    );
    assert.match(error.errors?.[0]?.message ?? "", message);
    return true;
  });
}

describe("cursor", () => {
  const cases = [
    { sort: "name", last: 'ünïcode "quoted" / slashed' },
    { sort: "-name", last: "zoe angstrom" },
    { sort: "email", last: "ada+x@example.com" },
    { sort: "-email", last: "" },
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

  test("a createdAt cursor must hold a timestamp", () => {
    assertBadCursor(() => decodeCursor(b64(JSON.stringify(["createdAt", "ada", ID])), "createdAt"));
  });

  test("garbage and JSON of the wrong shape are invalid_input on cursor", () => {
    for (const raw of ["", "!!!", b64("{not json"), b64(JSON.stringify(["name", "a"]))]) {
      assertBadCursor(() => decodeCursor(raw, "name"));
    }
    for (const shape of [["name", 3, ID], ["name", "a", "not-a-uuid"], ["priceCents", "a", ID], null]) {
      assertBadCursor(() => decodeCursor(b64(JSON.stringify(shape)), "name"));
    }
  });

  test("a cursor from another sort is refused, naming both", () => {
    const raw = encodeCursor({ sort: "email", last: "a@b.co", id: ID });
    assertBadCursor(() => decodeCursor(raw, "-email"), /sort=email.*sort=-email/);
  });
});

describe("buildFilter", () => {
  /** A first page by name starts at the least name (shared/read-side/keyset.ts). */
  const FROM_FIRST_NAME = { sortName: { $gte: "" } };

  test("with nothing given, only live users", () => {
    assert.deepEqual(buildFilter({}, "name"), { $and: [{ deleted: false }, FROM_FIRST_NAME] });
  });

  test("a first page is bounded below by the sort field's least value, past documents without it", () => {
    for (const sort of ["email", "-email"] as const) {
      assert.deepEqual(buildFilter({}, sort), { $and: [{ deleted: false }, { sortEmail: { $gte: "" } }] }, sort);
    }
    for (const sort of ["createdAt", "-createdAt"] as const) {
      assert.deepEqual(buildFilter({}, sort), { $and: [{ deleted: false }, { createdAt: { $gte: "" } }] }, sort);
    }
    assert.deepEqual(buildFilter({}, "-name"), { $and: [{ deleted: false }, FROM_FIRST_NAME] });
  });

  test("q: every folded word among the name's prefixes, or all of q folded as the start of the email", () => {
    assert.deepEqual(buildFilter({ q: " Zoë " }, "name"), {
      $and: [
        { deleted: false },
        { $or: [{ prefixes: { $all: ["zoe"] } }, { sortEmail: { $gte: "zoe", $lt: `zoe${TOP}` } }] },
        FROM_FIRST_NAME,
      ],
    });
    assert.deepEqual(buildFilter({ q: "Ada.L@Ex" }, "email"), {
      $and: [
        { deleted: false },
        {
          $or: [{ prefixes: { $all: ["ada", "l", "ex"] } }, { sortEmail: { $gte: "ada.l@ex", $lt: `ada.l@ex${TOP}` } }],
        },
        { sortEmail: { $gte: "" } },
      ],
    });
  });

  test("a q with a space can only match names (an email has none)", () => {
    assert.deepEqual(buildFilter({ q: " Zoë ÅNG " }, "name"), {
      $and: [{ deleted: false }, { prefixes: { $all: ["zoe", "ang"] } }, FROM_FIRST_NAME],
    });
  });

  test("a q without words can still start an email; a blank q adds no condition", () => {
    assert.deepEqual(buildFilter({ q: "+" }, "name"), {
      $and: [{ deleted: false }, { sortEmail: { $gte: "+", $lt: `+${TOP}` } }, FROM_FIRST_NAME],
    });
    assert.deepEqual(buildFilter({ q: "   " }, "name"), { $and: [{ deleted: false }, FROM_FIRST_NAME] });
  });

  const keysets = [
    { sort: "name", field: "sortName", op: "$gt" },
    { sort: "-name", field: "sortName", op: "$lt" },
    { sort: "email", field: "sortEmail", op: "$gt" },
    { sort: "-email", field: "sortEmail", op: "$lt" },
    { sort: "createdAt", field: "createdAt", op: "$gt" },
    { sort: "-createdAt", field: "createdAt", op: "$lt" },
  ] as const;
  for (const { sort, field, op } of keysets) {
    test(`cursor for sort=${sort}: after (${field}, _id) with ${op}`, () => {
      const last = field === "createdAt" ? "2025-01-02T03:04:05.000Z" : "k";
      const cursor = encodeCursor({ sort, last, id: ID });
      assert.deepEqual(buildFilter({ cursor }, sort), {
        $and: [{ deleted: false }, { $or: [{ [field]: { [op]: last } }, { [field]: last, _id: { [op]: ID } }] }],
      });
    });
  }

  test("a cursor from another sort is refused", () => {
    const cursor = encodeCursor({ sort: "name", last: "a", id: ID });
    assertBadCursor(() => buildFilter({ cursor }, "createdAt"), /sort=name/);
  });
});

function parseQuery(input: Record<string, string>) {
  const result = v.safeParse(ListUsersQuery, input);
  return result.success
    ? { ok: true as const, output: result.output }
    : { ok: false as const, paths: result.issues.map((issue) => v.getDotPath(issue)) };
}

describe("ListUsersQuery", () => {
  test("everything absent is valid; the limit is coerced", () => {
    assert.deepEqual(parseQuery({}), { ok: true, output: {} });
    const cursor = encodeCursor({ sort: "-email", last: "b@c.de", id: ID });
    assert.deepEqual(parseQuery({ q: "ada", sort: "-email", limit: "100", cursor }), {
      ok: true,
      output: { q: "ada", sort: "-email", limit: 100, cursor },
    });
  });

  test("a cursor is checked against the sort it is used with (name by default)", () => {
    const byEmail = encodeCursor({ sort: "email", last: "b@c.de", id: ID });
    assert.deepEqual(parseQuery({ cursor: byEmail }), { ok: false, paths: ["cursor"] });
    assert.deepEqual(parseQuery({ cursor: "bm9wZQ", sort: "email" }), { ok: false, paths: ["cursor"] });
    assert.equal(parseQuery({ cursor: byEmail, sort: "email" }).ok, true);
  });

  test("unknown parameters, bad sorts and bad limits are refused by name", () => {
    assert.deepEqual(parseQuery({ tag: "x", page: "2" }), { ok: false, paths: ["tag", "page"] });
    assert.deepEqual(parseQuery({ sort: "priceCents" }), { ok: false, paths: ["sort"] });
    for (const limit of ["0", "101", "-1", "1.5", "ten", ""]) {
      assert.deepEqual(parseQuery({ limit }), { ok: false, paths: ["limit"] }, limit);
    }
  });
});
