// When the lag scenario's events are not all applied in time: which ones, and how far each got.
// The writer's outbox keeps every event it decided (with when the relay published it); the reader's
// projection log says what it did with each it took from Kafka.
import postgres from "postgres";

export interface EventRef {
  aggregateId: string;
  version: number;
}

/** What the reader logged about one event: its outcome ("applied", "stale"...). */
export interface ProjectedOutcome extends EventRef {
  outcome: string;
}

interface OutboxRow {
  aggregate_id: string;
  version: number;
  type: string;
  created_at: Date;
  sent_at: Date | null;
}

/** At most this many events are described one by one. */
const LISTED = 10;

/**
 * The events the writer (its database at `postgresUrl`) decided since `since` that `outcomes` has
 * no "applied" line for, one line each: published or not, and what the reader logged for that
 * aggregate. Empty when all are applied.
 */
export async function unappliedEvents(
  postgresUrl: string,
  since: Date,
  outcomes: readonly ProjectedOutcome[],
): Promise<string[]> {
  const key = (e: EventRef) => `${e.aggregateId}@${e.version}`;
  const applied = new Set(outcomes.filter((o) => o.outcome === "applied").map(key));
  const sql = postgres(postgresUrl, { max: 1, onnotice: () => {} });
  let rows: OutboxRow[];
  try {
    rows = await sql<OutboxRow[]>`
      select aggregate_id, version, type, created_at, sent_at from outbox
      where created_at >= ${since} order by id`;
  } finally {
    await sql.end({ timeout: 2 });
  }
  const missing = rows.filter((row) => !applied.has(key({ aggregateId: row.aggregate_id, version: row.version })));
  if (missing.length === 0) return [];
  const unpublished = missing.filter((row) => row.sent_at === null).length;
  const lines = [
    `${missing.length} of the ${rows.length} events decided since the window began have no "applied" line ` +
      `(${unpublished} not yet published by the relay):`,
  ];
  for (const row of missing.slice(0, LISTED)) {
    const seen = outcomes
      .filter((o) => o.aggregateId === row.aggregate_id)
      .map((o) => `v${o.version} ${o.outcome}`)
      .join(", ");
    const published = row.sent_at
      ? `published ${row.sent_at.getTime() - row.created_at.getTime()} ms after its decision`
      : "not published";
    lines.push(
      `  ${row.type} ${row.aggregate_id} v${row.version}: ${published}; the reader logged ${seen || "nothing for this aggregate"}`,
    );
  }
  if (missing.length > LISTED) lines.push(`  ... and ${missing.length - LISTED} more`);
  return lines;
}
