// `npm run audit -- product <id>` (or `user <id>`): the history of one aggregate, one line per event
// in version order: version, event type, when, who caused it (the actor the gateway verified, or
// the local actor of `npm run invoke`) and the request's correlation id. Read from the writer's
// outbox, where every event is written in the command's transaction; published rows older than
// OUTBOX_RETENTION_HOURS are deleted there, and the command says when the history it prints may
// be missing older events for that reason. `--json` prints the envelopes' fields as JSON lines.
import postgres from "postgres";
import { loadConfig } from "#shared/platform/config.ts";
import { parseCommandLine, runMain } from "./command-line.ts";

const USAGE = `usage: npm run audit -- <product|user> <id> [--json]
  the history of one aggregate from the writer's outbox: version, event, when, actor, correlation id
  --json   one JSON object per event instead of a table`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TYPES = ["product", "user"];

interface AuditRow {
  version: number;
  type: string;
  occurredAt: string;
  actor: string;
  correlationId: string;
}

export async function auditTrail(url: string, aggregateType: string, id: string): Promise<AuditRow[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ version: number; type: string; envelope: Record<string, unknown> }[]>`
      select version, type, envelope from outbox
      where aggregate_type = ${aggregateType} and aggregate_id = ${id}
      order by version, id`;
    return rows.map((row) => {
      const metadata = (row.envelope.metadata ?? {}) as Record<string, string>;
      return {
        version: row.version,
        type: row.type,
        occurredAt: String(row.envelope.occurredAt),
        actor: metadata.actor ?? "(not recorded)",
        correlationId: metadata.correlationId ?? "-",
      };
    });
  } finally {
    await sql.end({ timeout: 2 });
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine("audit", USAGE, {
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  const [type = "", id = ""] = positionals;
  if (positionals.length !== 2 || !TYPES.includes(type) || !UUID.test(id)) {
    console.error("audit: give an aggregate type (product or user) and its id (a UUID) (--help shows the usage)");
    return 2;
  }
  const config = loadConfig();
  const trail = await auditTrail(config.postgres.url, type, id);
  if (values.json) {
    for (const row of trail) console.log(JSON.stringify(row));
  } else if (trail.length === 0) {
    console.log(`no events of ${type} ${id} in the outbox`);
  } else {
    console.log(["version", "event".padEnd(16), "when".padEnd(24), "actor".padEnd(24), "correlation id"].join("  "));
    for (const row of trail) {
      console.log(
        [
          String(row.version).padStart(7),
          row.type.padEnd(16),
          row.occurredAt.padEnd(24),
          row.actor.padEnd(24),
          row.correlationId,
        ].join("  "),
      );
    }
  }
  const first = trail[0];
  const retention = config.writer.outboxRetentionHours;
  if (first && first.version > 1 && retention > 0) {
    console.error(
      `audit: versions before ${first.version} are no longer in the outbox (published rows are kept ${retention} h, OUTBOX_RETENTION_HOURS)`,
    );
  }
  return 0;
}

runMain("audit", main);
