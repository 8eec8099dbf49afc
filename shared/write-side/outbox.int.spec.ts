// The outbox's retention (OUTBOX_RETENTION_HOURS) on a real PostgreSQL, in a database of its own
// with no relay running: sent rows older than the cut-off go, newer sent rows and unsent rows stay.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { ensureDatabase, migrateDatabase } from "#services/writer/writer.ts";
import { cleanUp, testConfig } from "#tests/support/system.ts";
import * as schema from "./db/schema.ts";
import { deleteSentRows } from "./outbox.ts";

const config = testConfig("outbox_retention");
let sql: postgres.Sql;

before(async () => {
  await ensureDatabase(config.postgres.url);
  await migrateDatabase(config.postgres.url, config.writer.migrationsDir);
  sql = postgres(config.postgres.url, { max: 1, onnotice: () => {} });
});

after(async () => {
  await sql?.end({ timeout: 2 });
  await cleanUp(config);
});

test("deleteSentRows deletes the rows sent before the cut-off, never a newer or an unsent one", async () => {
  const rows = await sql<{ id: string; label: string }[]>`
    insert into outbox (event_id, aggregate_type, aggregate_id, type, version, envelope, created_at, sent_at)
    select gen_random_uuid(), 'product', gen_random_uuid(), 'ProductCreated', 1, '{}', created, sent
    from (values
      (now() - interval '5 hours', now() - interval '4 hours'),
      (now() - interval '5 hours', now() - interval '3 hours'),
      (now() - interval '5 hours', now() - interval '1 hour'),
      (now() - interval '5 hours', null::timestamptz)
    ) as t(created, sent)
    returning id, coalesce((extract(epoch from now() - sent_at) / 3600)::int::text, 'unsent') as label`;
  const deleted = await deleteSentRows(drizzle(sql, { schema }), new Date(Date.now() - 2 * 3_600_000));
  assert.equal(deleted, 2);
  const left = await sql<{ id: string }[]>`select id from outbox order by id`;
  assert.deepEqual(
    left.map((row) => rows.find((r) => r.id === row.id)?.label),
    ["1", "unsent"],
    "the row sent an hour ago and the unsent one stay",
  );
});
