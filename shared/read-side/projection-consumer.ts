// Drives the projections from Kafka: one consumer group over every `<aggregate>-events` topic.
//
// At-least-once, applied exactly once: an offset is committed only after the projection has the
// event in MongoDB, and projections ignore versions they already have. A message that can never be
// applied (not JSON, not an envelope, unknown type or schema version) goes to `<topic>.dlq` with the
// reason and its origin in headers, and the partition moves on. Anything else (MongoDB down) is
// transient: the partition waits and retries the same message, with backoff, until it succeeds.
import type { KafkaJS } from "@confluentinc/kafka-javascript";
import * as v from "valibot";
import { deadLetterTopicFor, EventEnvelope, topicFor } from "../platform/events.ts";
import {
  type Consumer,
  connectProducer,
  ensureTopics,
  headerStrings,
  type KafkaMessage,
  type Producer,
} from "../platform/kafka.ts";
import type { Log } from "../platform/log.ts";
import { inProcessSpan } from "../platform/telemetry/kafka-spans.ts";
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
  partitions: number;
  projections: Projection[];
  deps: ProjectionDeps;
  log: Log;
}): Promise<ProjectionRunner> {
  const { log } = opts;
  const byTopic = new Map(opts.projections.map((p) => [topicFor(opts.topicPrefix, p.aggregateType), p]));
  const topics = [...byTopic.keys()];
  await ensureTopics(opts.kafka, [...topics, ...topics.map(deadLetterTopicFor)], opts.partitions);
  for (const projection of opts.projections) await projection.setup(opts.deps.readModel);

  const dlq: Producer = await connectProducer(opts.kafka);
  const consumer: Consumer = opts.kafka.consumer({
    "fetch.wait.max.ms": 10,
    kafkaJS: { groupId: opts.groupId, fromBeginning: true, autoCommit: false },
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

  async function handle(topic: string, partition: number, message: KafkaMessage) {
    const projection = byTopic.get(topic);
    const headers = headerStrings(message.headers);
    await inProcessSpan(
      { topic, partition, offset: message.offset, key: message.key?.toString(), headers },
      async (span) => {
        try {
          if (!projection) throw new PoisonMessage(`no projection for topic ${topic}`);
          const event = parseEnvelope(message);
          const result = await projection.apply(opts.deps, event);
          stats[result]++;
          span.setAttribute("cqrs.projection.outcome", result);
          const lag = (Date.now() - Date.parse(event.occurredAt)) / 1000;
          if (result === "applied")
            appMetrics().projectionLag.record(lag, { "cqrs.aggregate.type": projection.aggregateType });
          appMetrics().projectedEvents.add(1, {
            "messaging.destination.name": topic,
            "cqrs.projection.outcome": result,
          });
          log({
            msg: "event projected",
            topic,
            partition,
            offset: message.offset,
            type: event.type,
            aggregate_id: event.aggregateId,
            version: event.version,
            outcome: result,
            // From the command's decision on the writer to here, on this machine's clock when they share one.
            lag_ms: Math.round(lag * 1000),
          });
        } catch (error) {
          if (!(error instanceof PoisonMessage)) throw error;
          span.setAttribute("cqrs.projection.outcome", "dead-lettered");
          appMetrics().projectedEvents.add(1, {
            "messaging.destination.name": topic,
            "cqrs.projection.outcome": "dead-lettered",
          });
          await deadLetter(topic, partition, message, error.message);
        }
      },
    );
  }

  void consumer.run({
    partitionsConsumedConcurrently: opts.partitions,
    eachMessage: async ({ topic, partition, message }) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await handle(topic, partition, message);
          break;
        } catch (error) {
          if (stopping) throw error;
          stats.retries++;
          const wait = Math.min(100 * 2 ** attempt, 5000);
          log({
            level: "warn",
            msg: "projection failed; retrying",
            topic,
            partition,
            offset: message.offset,
            wait,
            err: String(error),
          });
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
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
