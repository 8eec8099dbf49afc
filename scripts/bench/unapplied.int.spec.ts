// unappliedEvents against the writer's real PostgreSQL: events of the outbox with no "applied" line
// are listed, published or not, with what the reader logged for their aggregate; older events and
// applied ones are not.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { connectWriterDeps } from "#services/writer/writer.ts";
import { outbox } from "#shared/write-side/db/schema.ts";
import { cleanUp, testConfig } from "#tests/support/system.ts";
import { unappliedEvents } from "./unapplied.ts";

const config = testConfig("bench_unapplied");
const [old, applied, unpublished, lost] = [uuidv7(), uuidv7(), uuidv7(), uuidv7()];
let since = new Date();

before(async () => {
  const { sql, deps } = await connectWriterDeps(config);
  try {
    const row = (aggregateId: string, version: number, at: Date, sentAt: Date | null) => ({
      eventId: uuidv7(),
      aggregateType: "product",
      aggregateId,
      type: "ProductUpdated",
      version,
      envelope: {},
      createdAt: at,
      sentAt,
    });
    const now = Date.now();
    since = new Date(now - 60_000);
    await deps.db.insert(outbox).values([
      // Before the window: never reported, applied or not.
      row(old, 1, new Date(now - 120_000), new Date(now - 119_000)),
      row(applied, 2, new Date(now - 30_000), new Date(now - 29_990)),
      row(unpublished, 3, new Date(now - 20_000), null),
      row(lost, 4, new Date(now - 10_000), new Date(now - 9_975)),
    ]);
  } finally {
    await sql.end({ timeout: 2 });
  }
});

after(() => cleanUp(config));

test("lists the window's events that were not applied, and how far each got", async () => {
  const lines = await unappliedEvents(config.postgres.url, since, [
    { aggregateId: applied, version: 2, outcome: "applied" },
    { aggregateId: lost, version: 3, outcome: "applied" },
    { aggregateId: lost, version: 4, outcome: "stale" },
  ]);
  assert.deepEqual(lines, [
    '2 of the 3 events decided since the window began have no "applied" line (1 not yet published by the relay):',
    `  ProductUpdated ${unpublished} v3: not published; the reader logged nothing for this aggregate`,
    `  ProductUpdated ${lost} v4: published 25 ms after its decision; the reader logged v3 applied, v4 stale`,
  ]);
});

test("says nothing when every event of the window was applied", async () => {
  const all = [applied, unpublished, lost].map((aggregateId, k) => ({
    aggregateId,
    version: k + 2,
    outcome: "applied",
  }));
  assert.deepEqual(await unappliedEvents(config.postgres.url, since, all), []);
});
