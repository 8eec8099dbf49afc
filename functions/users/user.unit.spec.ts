// Unit tests of the user aggregate: `decide` for each command and the valibot field rules, plus the
// HTTP body schemas built from them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { DomainError, type ErrorCode } from "#shared/platform/errors.ts";
import { CreateUserBody } from "./create-user/create-user.ts";
import { UpdateUserBody } from "./update-user/update-user.ts";
import { decide, eventData, type UserFields, type UserState } from "./user.ts";
import { EMAIL_MAX, fields } from "./user-fields.ts";

const ID = "01890f4e-7b7a-7cc0-8b6e-3c2f1a9d4e51";
const T0 = new Date("2025-01-02T03:04:05.000Z");
const T1 = new Date("2025-02-03T04:05:06.000Z");

const FIELDS: UserFields = { email: "Ada@Example.com", name: "Ada Lovelace" };

function stateAt(version: number, overrides: Partial<UserState> = {}): UserState {
  return { id: ID, ...FIELDS, subject: "ada", version, createdAt: T0, updatedAt: T0, deleted: false, ...overrides };
}

function domainError(code: ErrorCode) {
  return (error: unknown) => {
    assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe("decide", () => {
  test("CreateUser gives version 1, the fields and subject as given and both timestamps at now", () => {
    const event = decide({ type: "CreateUser", id: ID, fields: FIELDS, subject: "ada", now: T0 }, undefined);
    assert.equal(event.type, "UserCreated");
    assert.deepEqual(event.state, {
      id: ID,
      ...FIELDS,
      subject: "ada",
      version: 1,
      createdAt: T0,
      updatedAt: T0,
      deleted: false,
    });
  });

  test("CreateUser over an existing state, even a deleted one, is a conflict", () => {
    for (const state of [stateAt(1), stateAt(3, { deleted: true })]) {
      assert.throws(
        () => decide({ type: "CreateUser", id: ID, fields: FIELDS, subject: null, now: T1 }, state),
        domainError("conflict"),
      );
    }
  });

  test("UpdateUser bumps the version, applies only the patch and moves updatedAt to now", () => {
    const event = decide({ type: "UpdateUser", patch: { email: "ada@lovelace.org" }, now: T1 }, stateAt(3));
    assert.equal(event.type, "UserUpdated");
    assert.deepEqual(event.state, { ...stateAt(3), email: "ada@lovelace.org", version: 4, updatedAt: T1 });
  });

  test("UpdateUser of both fields", () => {
    const event = decide({ type: "UpdateUser", patch: { email: "c@d.io", name: "Countess" }, now: T1 }, stateAt(1));
    assert.equal(event.state.email, "c@d.io");
    assert.equal(event.state.name, "Countess");
    assert.equal(event.state.version, 2);
    assert.equal(event.state.createdAt, T0);
  });

  test("UpdateUser with the current expectedVersion succeeds", () => {
    const event = decide({ type: "UpdateUser", patch: { name: "A. L." }, expectedVersion: 2, now: T1 }, stateAt(2));
    assert.equal(event.state.version, 3);
    assert.equal(event.state.name, "A. L.");
  });

  test("UpdateUser does not change the state it was given", () => {
    const before = stateAt(2);
    decide({ type: "UpdateUser", patch: { name: "New" }, now: T1 }, before);
    assert.deepEqual(before, stateAt(2));
  });

  for (const expectedVersion of [1, 3]) {
    test(`UpdateUser at version 2 with a stale expectedVersion ${expectedVersion} is precondition_failed`, () => {
      assert.throws(
        () => decide({ type: "UpdateUser", patch: { name: "X" }, expectedVersion, now: T1 }, stateAt(2)),
        domainError("precondition_failed"),
      );
    });
  }

  test("UpdateUser of a missing user is not_found", () => {
    assert.throws(
      () => decide({ type: "UpdateUser", patch: { name: "X" }, now: T1 }, undefined),
      domainError("not_found"),
    );
  });

  test("UpdateUser of a deleted user is not_found, even with its current version", () => {
    assert.throws(
      () =>
        decide(
          { type: "UpdateUser", patch: { name: "X" }, expectedVersion: 5, now: T1 },
          stateAt(5, { deleted: true }),
        ),
      domainError("not_found"),
    );
  });

  test("DeleteUser produces a tombstone one version later", () => {
    const event = decide({ type: "DeleteUser", now: T1 }, stateAt(4));
    assert.equal(event.type, "UserDeleted");
    assert.deepEqual(event.state, { ...stateAt(4), version: 5, updatedAt: T1, deleted: true });
  });

  test("DeleteUser with the current expectedVersion succeeds; a stale one is precondition_failed", () => {
    assert.equal(decide({ type: "DeleteUser", expectedVersion: 4, now: T1 }, stateAt(4)).state.deleted, true);
    assert.throws(
      () => decide({ type: "DeleteUser", expectedVersion: 3, now: T1 }, stateAt(4)),
      domainError("precondition_failed"),
    );
  });

  test("DeleteUser of a missing or deleted user is not_found", () => {
    assert.throws(() => decide({ type: "DeleteUser", now: T1 }, undefined), domainError("not_found"));
    assert.throws(
      () => decide({ type: "DeleteUser", now: T1 }, stateAt(5, { deleted: true })),
      domainError("not_found"),
    );
  });

  test("a live user's event data is the full state with RFC 3339 timestamps", () => {
    const event = decide({ type: "UpdateUser", patch: { name: "Ada King" }, now: T1 }, stateAt(1));
    assert.deepEqual(eventData(event.state), {
      id: ID,
      email: FIELDS.email,
      name: "Ada King",
      subject: "ada",
      version: 2,
      createdAt: "2025-01-02T03:04:05.000Z",
      updatedAt: "2025-02-03T04:05:06.000Z",
      deleted: false,
    });
  });

  test("a deletion's event data is the id, the version and when: no personal data", () => {
    const event = decide({ type: "DeleteUser", now: T1 }, stateAt(1));
    assert.deepEqual(eventData(event.state), {
      id: ID,
      version: 2,
      updatedAt: "2025-02-03T04:05:06.000Z",
      deleted: true,
    });
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

/** The dot paths of the issues of `schema` for `input`. */
function paths(schema: v.GenericSchema, input: unknown): string[] {
  const result = v.safeParse(schema, input);
  return result.success ? [] : result.issues.map((issue) => v.getDotPath(issue) ?? "(body)");
}

describe("field rules", () => {
  test("email: a dot-atom at a domain, kept as given (case is not changed)", () => {
    for (const good of [
      "ada@example.com",
      "Ada.Lovelace+tag@Example.CO.uk",
      "a_b-c@sub-domain.example.io",
      "x@y.zz",
      "p^a0tsu@pz0.pfcdcvvx.net",
      "!#$%&'*+/=?^_`{|}~-@x.test",
      "a@xn--vermgensberater-ctb.example",
      `${"l".repeat(64)}@example.com`,
    ]) {
      assert.deepEqual(parse(fields.email, good), { ok: true, output: good }, good);
    }
  });

  test("email: not an address is refused with one message", () => {
    for (const bad of [
      "",
      "   ",
      "ada",
      "ada@",
      "@example.com",
      "ada@example",
      "ada@@example.com",
      "a b@example.com",
      "  ada@example.com",
      "ada@example.com\n",
      "a..b@example.com",
      ".ada@example.com",
      '"a b"@example.com',
      "ada@[192.0.2.1]",
      "ada@-x.example.com",
      "adä@example.com",
    ]) {
      assert.deepEqual(
        parse(fields.email, bad),
        { ok: false, messages: ["email must be an address such as ada@example.com"] },
        JSON.stringify(bad),
      );
    }
  });

  test("email: at most 64 characters before the @", () => {
    assert.deepEqual(parse(fields.email, `${"l".repeat(65)}@example.com`), {
      ok: false,
      messages: ["email's part before the @ is at most 64 characters"],
    });
  });

  test(`email: at most ${EMAIL_MAX} characters`, () => {
    // The length is in the domain, in labels of 9 letters (a label is at most 63, a local part 64).
    const at = (length: number) => `ada@${"bbbbbbbbb.".repeat(length).slice(0, length - "ada@com".length)}com`;
    assert.deepEqual(parse(fields.email, at(EMAIL_MAX)), { ok: true, output: at(EMAIL_MAX) });
    assert.deepEqual(parse(fields.email, at(EMAIL_MAX + 1)), {
      ok: false,
      messages: [`email is at most ${EMAIL_MAX} characters`],
    });
  });

  test("email must be a string", () => {
    for (const bad of [1, null, undefined, ["a@b.co"], { email: "a@b.co" }]) {
      assert.equal(parse(fields.email, bad).ok, false, String(bad));
    }
  });

  test("name: 1..200 characters, any script, no whitespace at the ends", () => {
    assert.deepEqual(parse(fields.name, "Zoë Ångström"), { ok: true, output: "Zoë Ångström" });
    assert.deepEqual(parse(fields.name, "x".repeat(200)), { ok: true, output: "x".repeat(200) });
    assert.deepEqual(parse(fields.name, "x".repeat(201)), { ok: false, messages: ["name is at most 200 characters"] });
    assert.deepEqual(parse(fields.name, ""), { ok: false, messages: ["name must not be empty"] });
    assert.deepEqual(parse(fields.name, " Zoë "), {
      ok: false,
      messages: ["name must not begin or end with whitespace"],
    });
    assert.equal(parse(fields.name, 7).ok, false);
  });
});

describe("HTTP bodies", () => {
  test("CreateUser needs email and name, takes a subject, and nothing else", () => {
    assert.deepEqual(parse(CreateUserBody, { email: "a@b.co", name: "A" }), {
      ok: true,
      output: { email: "a@b.co", name: "A" },
    });
    assert.deepEqual(parse(CreateUserBody, { email: "a@b.co", name: "A", subject: "auth0|42" }), {
      ok: true,
      output: { email: "a@b.co", name: "A", subject: "auth0|42" },
    });
    assert.deepEqual(paths(CreateUserBody, { email: "a@b.co", name: "A", subject: "has space" }), ["subject"]);
    assert.deepEqual(paths(CreateUserBody, { email: "a@b.co", name: "A", subject: "" }), ["subject"]);
    assert.deepEqual(paths(CreateUserBody, {}), ["email", "name"]);
    assert.deepEqual(paths(CreateUserBody, { email: "nope", name: "A", role: "admin", id: ID }), [
      "email",
      "role",
      "id",
    ]);
    assert.deepEqual(paths(CreateUserBody, { email: 1, name: false }), ["email", "name"]);
  });

  test("UpdateUser takes email and/or name, at least one, and nothing else", () => {
    assert.deepEqual(parse(UpdateUserBody, { name: "B" }), { ok: true, output: { name: "B" } });
    assert.deepEqual(parse(UpdateUserBody, { email: "b@c.de", name: "B" }), {
      ok: true,
      output: { email: "b@c.de", name: "B" },
    });
    assert.deepEqual(parse(UpdateUserBody, {}), { ok: false, messages: ["give at least one field to change"] });
    assert.deepEqual(paths(UpdateUserBody, { id: ID }), ["id"]);
    assert.deepEqual(paths(UpdateUserBody, { email: "x" }), ["email"]);
  });
});
