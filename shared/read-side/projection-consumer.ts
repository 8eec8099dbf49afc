// Drives the projections from Kafka: one consumer group over every `<aggregate>-events` topic.
//
// At-least-once, applied exactly once: each poll's batch of a partition (up to
// PROJECTION_BATCH_SIZE messages) is applied in one version-guarded bulk write, and its offset is
// committed only after the read model has it; projections ignore versions they already have. A
// message that can never be applied (not JSON, not an envelope, unknown type or schema version)
// goes to `<topic>.dlq` with the reason and its origin in headers, and the partition moves on.
// Anything else (MongoDB down) is transient: the partition waits and retries the same batch, with
// backoff, until it succeeds.
import type { KafkaJS } from "@confluentinc/kafka-javascript";
import { context } from "@opentelemetry/api";
import * as v from "valibot";
import { crashPoint } from "../platform/crash-point.ts";
import { deadLetterTopicFor, EventEnvelope, topicFor } from "../platform/events.ts";
import {
  type Consumer,
  connectProducer,
  ensureTopics,
  FETCH_WAIT_MAX_MS,
  headerStrings,
  type KafkaMessage,
  type Producer,
} from "../platform/kafka.ts";
import type { Log } from "../platform/log.ts";
import { endSpan, startProcessSpan } from "../platform/telemetry/kafka-spans.ts";
import { appMetrics } from "../platform/telemetry/metrics.ts";
import { PoisonMessage, type Projection, type ProjectionDeps } from "./projection.ts";

export interface ProjectionRunner {
  /** Applied or dead-lettered messages since start, for readiness and tests. */
  stats(): { applied: number; stale: number; deadLettered: number; retries: number };
  /** How many partitions the group has given this consumer right now (0 while it joins). */
  assigned(): number;
  stop(): Promise<void>;
}

function parseEnvelope(message: KafkaMessage): EventEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(message.value?.toString("utf8") ?? "");
  } catch {
    throw new PoisonMessage("value is not JSON");
  }
  const parsed = v.safeParse(EventEnvelope, json);
  if (!parsed.success) {
    const why = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? "(envelope)"}: ${issue.message}`).join("; ");
    throw new PoisonMessage(`not an event envelope: ${why}`);
  }
  return parsed.output;
}

export async function startProjections(opts: {
  kafka: KafkaJS.Kafka;
  topicPrefix: string;
  groupId: string;
  /** The group's session timeout: how soon a reader that died loses its partitions. */
  sessionTimeoutMs: number;
  /** How long a dead-letter topic keeps its messages (set when the reader creates it). */
  deadLetterRetentionHours: number;
  partitions: number;
  /** Most messages of one partition applied in one write. */
  batchSize: number;
  projections: Projection[];
  deps: ProjectionDeps;
  log: Log;
}): Promise<ProjectionRunner> {
  const { log } = opts;
  // Several read models may be projected from one topic: the first listed decides each event's
  // outcome (applied, stale, poison); the others read the same events with the same schema and write
  // theirs beside it, at the same time, in the same batch (a failure of any retries the batch, which
  // versions make harmless).
  const byTopic = new Map<string, Projection[]>();
  for (const p of opts.projections) {
    const topic = topicFor(opts.topicPrefix, p.aggregateType);
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), p]);
  }
  const topics = [...byTopic.keys()];
  // Dead letters are kept DLQ_RETENTION_HOURS, whatever the broker's default: long enough to fix
  // their cause and replay them (npm run dlq).
  const deadLetterTopics = new Set(topics.map(deadLetterTopicFor));
  const retention: Record<string, string> = { "retention.ms": String(opts.deadLetterRetentionHours * 3_600_000) };
  await ensureTopics(opts.kafka, [...topics, ...deadLetterTopics], opts.partitions, (topic) =>
    deadLetterTopics.has(topic) ? retention : {},
  );
  for (const projection of opts.projections) await projection.setup(opts.deps);

  const dlq: Producer = await connectProducer(opts.kafka);
  const consumer: Consumer = opts.kafka.consumer({
    "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
    "js.consumer.max.batch.size": opts.batchSize,
    kafkaJS: { groupId: opts.groupId, fromBeginning: true, autoCommit: false, sessionTimeout: opts.sessionTimeoutMs },
  });
  await consumer.connect();
  await consumer.subscribe({ topics });

  const stats = { applied: 0, stale: 0, deadLettered: 0, retries: 0 };
  let stopping = false;

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, reason: string) {
    await dlq.send({
      topic: deadLetterTopicFor(topic),
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...headerStrings(message.headers),
            "dlq-reason": reason,
            "dlq-origin-topic": topic,
            "dlq-origin-partition": String(partition),
            "dlq-origin-offset": message.offset,
          },
        },
      ],
    });
    stats.deadLettered++;
    log({ level: "warn", msg: "dead-lettered a message", topic, partition, offset: message.offset, reason });
  }

  /** Applies one poll's messages of one partition; throws only what is transient (the batch is retried). */
  async function handleBatch(topic: string, partition: number, messages: KafkaMessage[]) {
    const [projection, ...alongside] = byTopic.get(topic) ?? [];
    const spans = messages.map((message) =>
      startProcessSpan({
        topic,
        group: opts.groupId,
        partition,
        offset: message.offset,
        key: message.key?.toString(),
        headers: headerStrings(message.headers),
      }),
    );
    const poison = new Map<number, string>();
    const events: { index: number; event: EventEnvelope }[] = [];
    messages.forEach((message, index) => {
      if (!projection) {
        poison.set(index, `no projection for topic ${topic}`);
        return;
      }
      try {
        events.push({ index, event: parseEnvelope(message) });
      } catch (error) {
        if (!(error instanceof PoisonMessage)) throw error;
        poison.set(index, error.message);
      }
    });
    /** Runs `work` in message `index`'s span, so its child spans and log lines join that trace. */
    const inSpanOf = <T>(index: number | undefined, work: () => Promise<T>): Promise<T> => {
      const span = index === undefined ? undefined : spans[index];
      return span ? context.with(span.context, work) : work();
    };
    try {
      // The bulk writes run in the first event's span (all of a one-message batch's trace), every
      // read model's at once: they write apart, and each reads its poison the same way. All are
      // settled before a failure is thrown, so no write of this batch is still running when it is
      // retried.
      const all = events.map((e) => e.event);
      const writes =
        projection && events.length > 0
          ? [
              inSpanOf(events[0]?.index, () =>
                projection.applyBatch(opts.deps, all, (i, work) => inSpanOf(events[i]?.index, work)),
              ),
              ...alongside.map((other) => inSpanOf(events[0]?.index, () => other.applyBatch(opts.deps, all))),
            ]
          : [];
      const settled = await Promise.allSettled(writes);
      const failed = settled.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
      const first = settled[0];
      const outcomes = first?.status === "fulfilled" ? first.value : [];
      outcomes.forEach((outcome, i) => {
        const entry = events[i];
        if (!entry) return;
        if (typeof outcome === "object") {
          poison.set(entry.index, outcome.poison);
          return;
        }
        const { event, index } = entry;
        const message = messages[index];
        stats[outcome]++;
        spans[index]?.span.setAttribute("cqrs.projection.outcome", outcome);
        const lag = (Date.now() - Date.parse(event.occurredAt)) / 1000;
        if (outcome === "applied" && projection) {
          appMetrics().projectionLag.record(lag, { "cqrs.aggregate.type": projection.aggregateType });
        }
        appMetrics().projectedEvents.add(1, {
          "messaging.destination.name": topic,
          "cqrs.projection.outcome": outcome,
        });
        // In the event's span, so the line carries its trace id.
        const write = () =>
          log({
            msg: "event projected",
            topic,
            partition,
            offset: message?.offset,
            type: event.type,
            aggregate_id: event.aggregateId,
            version: event.version,
            outcome,
            // From the command's decision on the writer to here, on this machine's clock when they share one.
            lag_ms: Math.round(lag * 1000),
          });
        void inSpanOf(index, async () => write());
      });
      for (const [index, reason] of [...poison].sort(([a], [b]) => a - b)) {
        const message = messages[index];
        if (!message) continue;
        spans[index]?.span.setAttribute("cqrs.projection.outcome", "dead-lettered");
        appMetrics().projectedEvents.add(1, {
          "messaging.destination.name": topic,
          "cqrs.projection.outcome": "dead-lettered",
        });
        await inSpanOf(index, () => deadLetter(topic, partition, message, reason));
      }
      for (const { span } of spans) endSpan(span);
    } catch (error) {
      for (const { span } of spans) endSpan(span, error);
      throw error;
    }
  }

  void consumer.run({
    partitionsConsumedConcurrently: opts.partitions,
    eachBatch: async ({ batch }) => {
      const last = batch.messages.at(-1);
      if (!last) return;
      for (let attempt = 0; ; attempt++) {
        try {
          await handleBatch(batch.topic, batch.partition, batch.messages);
          break;
        } catch (error) {
          if (stopping) throw error;
          stats.retries++;
          const wait = Math.min(100 * 2 ** attempt, 5000);
          log({
            level: "warn",
            msg: "projection failed; retrying",
            topic: batch.topic,
            partition: batch.partition,
            offsets: `${batch.messages[0]?.offset}..${last.offset}`,
            wait,
            err: error,
          });
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
      crashPoint("projection-before-commit");
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
      ]);
    },
  });

  return {
    stats: () => ({ ...stats }),
    assigned: () => {
      try {
        return stopping ? 0 : consumer.assignment().length;
      } catch {
        return 0; // not connected (yet, or any more)
      }
    },
    async stop() {
      stopping = true;
      await consumer.disconnect();
      await dlq.disconnect();
    },
  };
}
