// The user projection and its queries against the real MongoDB wire (FerretDB) and Redis, fed
// envelopes directly (the Kafka path is the same consumer as products', covered there and end to
// end): only newer versions apply whatever the delivery order, a tombstone cannot be resurrected by
// a replay, poison is refused, the cache never serves an older version than the projection applied,
// the indexes are created once, and the email-prefix range of ListUsers matches exactly.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { connectReaderDeps } from "#services/reader/reader.ts";
import { DomainError } from "#shared/platform/errors.ts";
import type { EventEnvelope, EventTypeOf } from "#shared/platform/events.ts";
import { PoisonMessage } from "#shared/read-side/projection.ts";
import type { ReaderDeps } from "#shared/read-side/reader-deps.ts";
import { cleanUp, testConfig, testLog } from "#tests/support/system.ts";
import { getUserHandler as getUser } from "./get-user/get-user.handler.ts";
import { listUsersHandler as listUsers } from "./list-users/list-users.handler.ts";
import { eventData, type UserState } from "./user.ts";
import { USER_ADMIN } from "./user-api.ts";
import { userEvents } from "./user-events.ts";
import { CACHE_KIND, INDEXES, userProjection, users } from "./user-read-model.ts";

const USER_ADMIN_CALL = { actor: { subject: "test-admin", roles: [USER_ADMIN] }, correlationId: undefined };

const config = testConfig("user_projection_int");
let reader: { deps: ReaderDeps; close(): Promise<void> } | undefined;

before(async () => {
  reader = await connectReaderDeps(config, testLog);
  await userProjection.setup(deps());
});

after(async () => {
  await reader?.close();
  await cleanUp(config);
});

function deps(): ReaderDeps {
  if (!reader) throw new Error("the read model did not connect");
  return reader.deps;
}

function state(id: string, version: number, overrides: Partial<UserState> = {}): UserState {
  return {
    id,
    email: `v${version}.${id.slice(-6)}@Example.com`,
    name: `Name V${version}`,
    subject: null,
    version,
    createdAt: new Date("2024-01-01T00:00:00Z"),
    updatedAt: new Date(Date.UTC(2024, 0, 1, 0, version)),
    deleted: false,
    ...overrides,
  };
}

function envelope(user: UserState): EventEnvelope {
  const type: EventTypeOf<typeof userEvents> = user.deleted
    ? "UserDeleted"
    : user.version === 1
      ? "UserCreated"
      : "UserUpdated";
  return {
    eventId: uuidv7(),
    type,
    aggregateId: user.id,
    version: user.version,
    occurredAt: user.updatedAt.toISOString(),
    schemaVersion: userEvents.types[type].version,
    data: eventData(user),
  };
}

const apply = (event: EventEnvelope) => userProjection.apply(deps(), event);

async function read(id: string): Promise<unknown> {
  try {
    // As a user-admin: any user, whoever it belongs to.
    return (await getUser.invoke(deps(), { id }, USER_ADMIN_CALL)) as unknown;
  } catch (error) {
    if (error instanceof DomainError && error.code === "not_found") return "not_found";
    throw error;
  }
}

describe("user projection", () => {
  test("setup declares every index once, and a second setup changes nothing", async () => {
    await userProjection.setup(deps());
    const names = (await users(deps().readModel).listIndexes().toArray()).map((index) => String(index.name));
    for (const index of INDEXES) assert.equal(names.filter((name) => name === index.name).length, 1, index.name);
  });

  test("out-of-order and duplicate deliveries apply only the newest version", async () => {
    const id = uuidv7();
    assert.equal(await apply(envelope(state(id, 3))), "applied");
    assert.equal(await apply(envelope(state(id, 1))), "stale");
    assert.equal(await apply(envelope(state(id, 2))), "stale");
    assert.equal(await apply(envelope(state(id, 3))), "stale");
    const doc = await users(deps().readModel).findOne({ _id: id });
    assert.equal(doc?.version, 3);
    assert.equal(doc?.email, state(id, 3).email);
    assert.equal(doc?.sortEmail, state(id, 3).email.toLowerCase());
    assert.equal(doc?.sortName, "name v3");
    assert.deepEqual(doc?.prefixes, ["n", "na", "nam", "name", "v", "v3"]);
    assert.equal(await apply(envelope(state(id, 4))), "applied");
    assert.deepEqual(await read(id), {
      user: {
        id,
        email: state(id, 4).email,
        name: "Name V4",
        version: 4,
        createdAt: "2024-01-01T00:00:00.000Z",
        updatedAt: state(id, 4).updatedAt.toISOString(),
      },
    });
  });

  test("a tombstone stays: replays of older versions cannot bring the user back", async () => {
    const id = uuidv7();
    await apply(envelope(state(id, 1)));
    assert.equal(await apply(envelope(state(id, 2, { deleted: true }))), "applied");
    assert.equal(await apply(envelope(state(id, 1))), "stale");
    const doc = await users(deps().readModel).findOne({ _id: id });
    assert.deepEqual(doc, { _id: id, version: 2, deleted: true });
    assert.equal(await read(id), "not_found");
    const listed = await listUsers.invoke(deps(), { q: state(id, 1).email, limit: 100 });
    assert.deepEqual(listed, { items: [], nextCursor: undefined });
  });

  test("the cache never serves a version older than the projection applied", async () => {
    const id = uuidv7();
    await apply(envelope(state(id, 1)));
    await read(id); // fills the cache at version 1
    assert.equal((await deps().cache.get(CACHE_KIND, id))?.version, 1);
    await apply(envelope(state(id, 2, { name: "Renamed" })));
    assert.equal(await deps().cache.get(CACHE_KIND, id), undefined, "the old body is dropped");
    assert.equal(await deps().cache.fill(CACHE_KIND, id, 1, "{}", 0), false, "a late fill of version 1 is refused");
    const again = (await read(id)) as { user: { name: string; version: number } };
    assert.equal(again.user.version, 2);
    assert.equal(again.user.name, "Renamed");
  });

  test("poison is refused: unknown type, unknown schema version, bad data, data not matching the envelope", async () => {
    const id = uuidv7();
    const good = envelope(state(id, 1));
    const poisons: EventEnvelope[] = [
      { ...good, type: "UserPromoted" },
      { ...good, schemaVersion: 2 },
      { ...good, data: { ...good.data, email: 42 } },
      { ...good, data: { ...good.data, createdAt: "yesterday" } },
      { ...good, version: 2 },
      { ...good, aggregateId: uuidv7() },
    ];
    for (const poison of poisons) await assert.rejects(apply(poison), PoisonMessage, JSON.stringify(poison));
    assert.equal(await users(deps().readModel).findOne({ _id: id }), null);
  });

  test("q as an email prefix matches exactly the emails that start with it, case-insensitively", async () => {
    const stem = `p${uuidv7().slice(-8)}`;
    const emails = [`${stem}.ab@x.io`, `${stem}.ABC@x.io`, `${stem}.b@x.io`, `${stem}a@x.io`, `x${stem}.ab@x.io`];
    for (const email of emails) await apply(envelope(state(uuidv7(), 1, { email, name: "Same Name" })));
    const found = async (q: string) =>
      ((await listUsers.invoke(deps(), { q, sort: "email", limit: 100 })) as { items: { email: string }[] }).items.map(
        (item) => item.email,
      );
    assert.deepEqual(await found(`${stem}.AB`), [`${stem}.ab@x.io`, `${stem}.ABC@x.io`]);
    assert.deepEqual(await found(`${stem}.`), [`${stem}.ab@x.io`, `${stem}.ABC@x.io`, `${stem}.b@x.io`]);
    assert.deepEqual(await found(`${stem}.ab@x.io`), [`${stem}.ab@x.io`]);
    assert.deepEqual(await found(`${stem}.ab@x.io.`), []);
  });
});
