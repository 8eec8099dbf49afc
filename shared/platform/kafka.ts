// Kafka through the Confluent client (librdkafka) in its KafkaJS-compatible API.
import { KafkaJS } from "@confluentinc/kafka-javascript";

export type Producer = KafkaJS.Producer;
export type Consumer = KafkaJS.Consumer;
export type KafkaMessage = KafkaJS.KafkaMessage;

export function kafkaClient(brokers: string, clientId: string): KafkaJS.Kafka {
  return new KafkaJS.Kafka({
    // After a broker outage, try again at least every 2 s (librdkafka backs off up to 10 s), so the
    // relay and the projections resume within seconds of the broker's return.
    "reconnect.backoff.max.ms": 2000,
    kafkaJS: { brokers: brokers.split(",").map((b) => b.trim()), clientId, logLevel: KafkaJS.logLevel.ERROR },
  });
}

/**
 * How long the broker may hold a consumer's fetch while it has nothing to return. It answers as
 * soon as a message arrives (fetch.min.bytes is 1), so this is how often an idle consumer asks,
 * not a latency (only a partition assigned while an idle fetch is out waits for its answer). At 10 ms the reader's idle fetches cost the broker 10% of a core (126 against 24
 * ticks in 10 s with the stack idle), and projection lag at 30 commands/s was no lower (p50/p99
 * 238/591 ms at 10, 211/474 ms at 500, `npm run bench -- --only lag`). 500 is librdkafka's default.
 */
export const FETCH_WAIT_MAX_MS = 500;

/** An idempotent producer with acks=all: no duplicates from retries, order kept per partition. */
export async function connectProducer(kafka: KafkaJS.Kafka): Promise<Producer> {
  const producer = kafka.producer({
    "linger.ms": 2,
    kafkaJS: { idempotent: true, acks: -1, maxInFlightRequests: 5 },
  });
  await producer.connect();
  return producer;
}

/** Creates the topics that do not exist yet; an existing topic is left as it is. */
export async function ensureTopics(
  kafka: KafkaJS.Kafka,
  topics: string[],
  partitions: number,
  /** Topic settings a new topic gets (an existing one keeps its own), e.g. `retention.ms`. */
  settings: (topic: string) => Record<string, string> = () => ({}),
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        topics: missing.map((topic) => ({
          topic,
          numPartitions: partitions,
          replicationFactor: -1,
          configEntries: Object.entries(settings(topic)).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (error) {
      // Another service may have created it between our list and create.
      if (!String(error).includes("already exists")) throw error;
    }
  } finally {
    await admin.disconnect();
  }
}

/** Kafka headers as plain strings (the client gives Buffers, possibly arrays). */
export function headerStrings(headers: KafkaMessage["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}
