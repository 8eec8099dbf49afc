// Unit tests of the product aggregate: `decide` for each command and the valibot field rules.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { DomainError, type ErrorCode } from "#shared/platform/errors.ts";
import { decide, type ProductFields, type ProductState } from "./product.ts";
import { fields } from "./product-fields.ts";

const ID = "01890f4e-7b7a-7cc0-8b6e-3c2f1a9d4e51";
const T0 = new Date("2025-01-02T03:04:05.000Z");
const T1 = new Date("2025-02-03T04:05:06.000Z");

const FIELDS: ProductFields = {
  sku: "WID-1",
  name: "Widget",
  description: "A small widget",
  priceCents: 1999,
  currency: "EUR",
  stock: 7,
  tags: ["tools", "small"],
};

function stateAt(version: number, overrides: Partial<ProductState> = {}): ProductState {
  return { id: ID, ...FIELDS, version, createdAt: T0, updatedAt: T0, deleted: false, ...overrides };
}

function domainError(code: ErrorCode) {
  return (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe("decide", () => {
  test("CreateProduct gives version 1, the fields and both timestamps at now", () => {
    const event = decide({ type: "CreateProduct", id: ID, fields: FIELDS, now: T0 }, undefined);
    assert.equal(event.type, "ProductCreated");
    assert.deepEqual(event.state, {
      id: ID,
      ...FIELDS,
      version: 1,
      createdAt: T0,
      updatedAt: T0,
      deleted: false,
    });
  });

  test("CreateProduct over an existing state is a conflict", () => {
    assert.throws(
      () => decide({ type: "CreateProduct", id: ID, fields: FIELDS, now: T1 }, stateAt(1)),
      domainError("conflict"),
    );
  });

  test("UpdateProduct bumps the version, applies only the patch and moves updatedAt to now", () => {
    const event = decide({ type: "UpdateProduct", patch: { name: "Gadget", priceCents: 2500 }, now: T1 }, stateAt(3));
    assert.equal(event.type, "ProductUpdated");
    assert.deepEqual(event.state, {
      ...stateAt(3),
      name: "Gadget",
      priceCents: 2500,
      version: 4,
      createdAt: T0,
      updatedAt: T1,
    });
  });

  test("UpdateProduct with the current expectedVersion succeeds", () => {
    const event = decide({ type: "UpdateProduct", patch: { stock: 0 }, expectedVersion: 2, now: T1 }, stateAt(2));
    assert.equal(event.state.version, 3);
    assert.equal(event.state.stock, 0);
  });

  test("UpdateProduct does not change the state it was given", () => {
    const before = stateAt(2);
    decide({ type: "UpdateProduct", patch: { tags: ["new"] }, now: T1 }, before);
    assert.deepEqual(before, stateAt(2));
  });

  for (const expectedVersion of [1, 3]) {
    test(`UpdateProduct at version 2 with a stale expectedVersion ${expectedVersion} is precondition_failed`, () => {
      assert.throws(
        () => decide({ type: "UpdateProduct", patch: { name: "X" }, expectedVersion, now: T1 }, stateAt(2)),
        domainError("precondition_failed"),
      );
    });
  }

  test("UpdateProduct of a missing product is not_found", () => {
    assert.throws(
      () => decide({ type: "UpdateProduct", patch: { name: "X" }, now: T1 }, undefined),
      domainError("not_found"),
    );
  });

  test("UpdateProduct of a deleted product is not_found, even with its current version", () => {
    assert.throws(
      () =>
        decide(
          { type: "UpdateProduct", patch: { name: "X" }, expectedVersion: 5, now: T1 },
          stateAt(5, { deleted: true }),
        ),
      domainError("not_found"),
    );
  });

  test("DeleteProduct produces a tombstone one version later", () => {
    const event = decide({ type: "DeleteProduct", now: T1 }, stateAt(4));
    assert.equal(event.type, "ProductDeleted");
    assert.deepEqual(event.state, { ...stateAt(4), version: 5, updatedAt: T1, deleted: true });
  });

  test("DeleteProduct with the current expectedVersion succeeds", () => {
    const event = decide({ type: "DeleteProduct", expectedVersion: 4, now: T1 }, stateAt(4));
    assert.equal(event.state.deleted, true);
    assert.equal(event.state.version, 5);
  });

  test("DeleteProduct with a stale expectedVersion is precondition_failed", () => {
    assert.throws(
      () => decide({ type: "DeleteProduct", expectedVersion: 3, now: T1 }, stateAt(4)),
      domainError("precondition_failed"),
    );
  });

  test("DeleteProduct of a missing product is not_found", () => {
    assert.throws(() => decide({ type: "DeleteProduct", now: T1 }, undefined), domainError("not_found"));
  });

  test("DeleteProduct of a deleted product is not_found", () => {
    assert.throws(
      () => decide({ type: "DeleteProduct", now: T1 }, stateAt(5, { deleted: true })),
      domainError("not_found"),
    );
  });
});

/** The output of `schema` for `input`, or the messages of its issues. */
function parse<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
): { ok: true; output: v.InferOutput<S> } | { ok: false; messages: string[] } {
  const result = v.safeParse(schema, input);
  return result.success
    ? { ok: true, output: result.output }
    : { ok: false, messages: result.issues.map((i) => i.message) };
}

describe("field rules", () => {
  test("tags are lower-cased and de-duplicated, in first-seen order", () => {
    assert.deepEqual(parse(fields.tags, ["Tools", "tools", "SMALL", "small", "Big"]), {
      ok: true,
      output: ["tools", "small", "big"],
    });
  });

  test("at most 20 tags", () => {
    const twenty = Array.from({ length: 20 }, (_, i) => `t${i}`);
    assert.deepEqual(parse(fields.tags, twenty), { ok: true, output: twenty });
    assert.deepEqual(parse(fields.tags, [...twenty, "t20"]), { ok: false, messages: ["at most 20 tags"] });
  });

  test("a tag must not be empty, padded, nor longer than 40 characters", () => {
    assert.deepEqual(parse(fields.tags, [""]), { ok: false, messages: ["a tag must not be empty"] });
    assert.deepEqual(parse(fields.tags, [" tools"]), {
      ok: false,
      messages: ["a tag must not begin or end with whitespace"],
    });
    assert.deepEqual(parse(fields.tags, ["x".repeat(40)]), { ok: true, output: ["x".repeat(40)] });
    assert.deepEqual(parse(fields.tags, ["x".repeat(41)]), { ok: false, messages: ["a tag is at most 40 characters"] });
  });

  test("tags must be an array of strings", () => {
    assert.equal(parse(fields.tags, "tools").ok, false);
    assert.equal(parse(fields.tags, [1]).ok, false);
  });

  test("sku: letters, digits, '.', '_' and '-', starting with a letter or digit, 1..64", () => {
    for (const good of ["A", "WID-1", "a.b_c-9", "0abc", "x".repeat(64)]) {
      assert.deepEqual(parse(fields.sku, good), { ok: true, output: good }, good);
    }
    for (const bad of ["", "   ", "  WID-1 ", "WID-1\n", "-abc", ".abc", "wid 1", "wid/1", "wíd", "x".repeat(65)]) {
      assert.equal(parse(fields.sku, bad).ok, false, JSON.stringify(bad));
    }
  });

  test("priceCents: a whole number from 0 to 10^12", () => {
    for (const good of [0, 1, 1999, 1_000_000_000_000]) {
      assert.deepEqual(parse(fields.priceCents, good), { ok: true, output: good }, String(good));
    }
    assert.deepEqual(parse(fields.priceCents, 1.5), {
      ok: false,
      messages: ["priceCents must be a whole number of minor units"],
    });
    assert.deepEqual(parse(fields.priceCents, -1), { ok: false, messages: ["priceCents must not be negative"] });
    assert.deepEqual(parse(fields.priceCents, 1_000_000_000_001), {
      ok: false,
      messages: ["priceCents is at most 1000000000000"],
    });
    for (const bad of ["100", Number.NaN, Number.POSITIVE_INFINITY, null]) {
      assert.equal(parse(fields.priceCents, bad).ok, false, String(bad));
    }
  });

  test("currency: exactly three upper-case letters", () => {
    for (const good of ["EUR", "USD", "JPY"])
      assert.deepEqual(parse(fields.currency, good), { ok: true, output: good });
    for (const bad of ["eur", "Eur", "EU", "EURO", "E1R", " EUR", ""]) {
      assert.equal(parse(fields.currency, bad).ok, false, JSON.stringify(bad));
    }
  });

  test("stock: a whole number from 0 to 10^9", () => {
    assert.deepEqual(parse(fields.stock, 0), { ok: true, output: 0 });
    assert.deepEqual(parse(fields.stock, 1_000_000_000), { ok: true, output: 1_000_000_000 });
    for (const bad of [-1, 0.5, 1_000_000_001]) assert.equal(parse(fields.stock, bad).ok, false, String(bad));
  });
});
