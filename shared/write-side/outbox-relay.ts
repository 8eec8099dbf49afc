// The outbox relay: publishes committed outbox rows to Kafka in id order and marks them sent.
//
// Woken by LISTEN/NOTIFY (the outbox trigger fires on commit), with a slow poll as a safety net for
// a lost notification or a Kafka outage. Only the writer that holds the relay's lease drains
// (relay-lease.ts), however many writer replicas run; each drain is one transaction that reads a
// batch of unsent rows, publishes them and marks them sent. Rows are marked sent only after Kafka
// acknowledged them (idempotent producer, acks=all), so a crash in between re-publishes: duplicates,
// never losses; the projections apply each version once.
import type { KafkaJS } from "@confluentinc/kafka-javascript";
import type { Span } from "@opentelemetry/api";
import type postgres from "postgres";
import { crashPoint } from "../platform/crash-point.ts";
import { topicFor } from "../platform/events.ts";
import { ensureTopics, type Producer } from "../platform/kafka.ts";
import type { Log } from "../platform/log.ts";
import { endSpan, startPublishSpan } from "../platform/telemetry/kafka-spans.ts";

const BATCH = 500;

interface OutboxRow {
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  type: string;
  event_id: string;
  envelope: unknown;
  headers: Record<string, string>;
}

export interface Relay {
  /** Drains now (used by tests and at start); resolves with how many rows were published. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

export async function startRelay(opts: {
  sql: postgres.Sql;
  producer: Producer;
  kafka: KafkaJS.Kafka;
  topicPrefix: string;
  partitions: number;
  pollMs: number;
  /** Whether this writer is the relay (holds the lease); a drain elsewhere does nothing. */
  isRelay: () => boolean;
  /** Gives the lease up: called when every drain failed for `giveUpAfterMs` while holding it. */
  giveUp: (reason: string) => Promise<void>;
  giveUpAfterMs: number;
  log: Log;
}): Promise<Relay> {
  const { sql, producer, log } = opts;
  let running: Promise<number> | undefined;
  let again = false;
  /** When the drains started failing in a row, if they are. */
  let failingSince: number | undefined;
  let stopped = false;
  const knownTopics = new Set<string>();

  async function drainOnce(): Promise<number> {
    if (!opts.isRelay()) return 0;
    return sql.begin(async (tx) => {
      const rows = await tx<OutboxRow[]>`
        select id, aggregate_type, aggregate_id, type, event_id, envelope, headers
        from outbox where sent_at is null order by id limit ${BATCH}`;
      if (rows.length === 0) return 0;
      const byTopic = new Map<string, OutboxRow[]>();
      for (const row of rows) {
        const topic = topicFor(opts.topicPrefix, row.aggregate_type);
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), row]);
      }
      const newTopics = [...byTopic.keys()].filter((topic) => !knownTopics.has(topic));
      if (newTopics.length > 0) {
        await ensureTopics(opts.kafka, newTopics, opts.partitions);
        for (const topic of newTopics) knownTopics.add(topic);
      }
      const spans: Span[] = [];
      const topicMessages = [...byTopic].map(([topic, topicRows]) => ({
        topic,
        messages: topicRows.map((row) => {
          const headers = { ...row.headers, "event-type": row.type, "event-id": row.event_id };
          spans.push(startPublishSpan(topic, row.aggregate_id, headers));
          return { key: row.aggregate_id, value: JSON.stringify(row.envelope), headers };
        }),
      }));
      try {
        await producer.sendBatch({ topicMessages });
      } catch (error) {
        for (const span of spans) endSpan(span, error);
        throw error;
      }
      for (const span of spans) endSpan(span);
      crashPoint("relay-after-publish");
      await tx`update outbox set sent_at = now() where id in ${tx(rows.map((row) => row.id))}`;
      return rows.length;
    });
  }

  async function drainAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const published = await drainOnce();
      total += published;
      if (published < BATCH) return total;
    }
  }

  /** Coalesces wake-ups: one drain at a time, and one more if woken while draining. */
  function drain(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = drainAll()
      .then((published) => {
        failingSince = undefined;
        return published;
      })
      .catch((error: unknown) => {
        log({ level: "warn", msg: "outbox relay could not publish; will retry", err: error });
        // Failing for a whole lease period while holding it: another writer may be able to publish.
        failingSince ??= Date.now();
        if (Date.now() - failingSince >= opts.giveUpAfterMs && opts.isRelay()) {
          failingSince = undefined;
          void opts.giveUp(`every drain failed for ${opts.giveUpAfterMs / 1000} s`);
        }
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          void drain();
        }
      });
    return running;
  }

  const listener = await sql.listen("outbox", () => void drain());
  const timer = setInterval(() => void drain(), opts.pollMs);
  await drain();

  return {
    drain,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await listener.unlisten();
      await running;
    },
  };
}
