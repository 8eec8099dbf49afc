// The dead letters of the projections: messages a reader could never apply, kept in `<topic>.dlq`
// with the reason and their origin in headers (shared/read-side/projection-consumer.ts). What was
// done with each (replayed, discarded) is recorded in the compacted topic `<prefix>dlq-handled`,
// keyed by the dead letter's reference, so it survives restarts and is shared by every operator.
// A replay publishes the message again to its origin topic with its original key and headers: the
// projection applies it once its cause is fixed, idempotently, and never over a newer version.
import type { KafkaJS } from "@confluentinc/kafka-javascript";
import { deadLetterTopicFor, topicFor } from "#shared/platform/events.ts";
import { connectProducer, ensureTopics } from "#shared/platform/kafka.ts";
import { deleteGroups, readWholeTopic, type TopicMessage } from "../kafka-topics.ts";

export type Handled = "replayed" | "discarded";

export interface DeadLetter {
  /** `<dlq topic>:<partition>:<offset>`: what the verbs take. */
  ref: string;
  topic: string;
  reason: string;
  origin: { topic: string; partition: number; offset: string };
  eventType: string;
  aggregateId: string;
  /** When it was dead-lettered (ms since the epoch). */
  at: number;
  state: "pending" | Handled;
  /** When it was replayed or discarded, if it was. */
  handledAt?: string;
  message: TopicMessage;
}

export const handledTopic = (prefix: string) => `${prefix}dlq-handled`;
export const AGGREGATES = ["product", "user"];

/** Every dead-letter topic of the aggregates under `prefix`. */
export const deadLetterTopics = (prefix: string) => AGGREGATES.map((a) => deadLetterTopicFor(topicFor(prefix, a)));

export function parseRef(ref: string): { topic: string; partition: number; offset: string } | undefined {
  const match = /^(.+):(\d+):(\d+)$/.exec(ref);
  if (!match) return undefined;
  return { topic: match[1] as string, partition: Number(match[2]), offset: match[3] as string };
}

const DLQ_HEADERS = ["dlq-reason", "dlq-origin-topic", "dlq-origin-partition", "dlq-origin-offset"];

export class DeadLetters {
  private readonly kafka: KafkaJS.Kafka;
  private readonly prefix: string;
  private readonly partitions: number;

  constructor(kafka: KafkaJS.Kafka, prefix: string, partitions: number) {
    this.kafka = kafka;
    this.prefix = prefix;
    this.partitions = partitions;
  }

  /** Reads a topic whole with a consumer group of its own, deleted afterwards. */
  private async read(topic: string): Promise<TopicMessage[]> {
    const group = `${this.prefix}dlq-tool-${process.pid}-${Date.now()}`;
    try {
      return await readWholeTopic(this.kafka, topic, group);
    } finally {
      await deleteGroups(this.kafka, [group]);
    }
  }

  private async handled(): Promise<Map<string, { state: Handled; at: string }>> {
    const topic = handledTopic(this.prefix);
    await this.ensureHandledTopic();
    const states = new Map<string, { state: Handled; at: string }>();
    for (const message of await this.read(topic)) {
      states.set(message.key, JSON.parse(message.value) as { state: Handled; at: string });
    }
    return states;
  }

  private ensureHandledTopic(): Promise<void> {
    return ensureTopics(this.kafka, [handledTopic(this.prefix)], 1, () => ({ "cleanup.policy": "compact" }));
  }

  /** The dead letters of `topic` (a dead-letter topic), or of every one; oldest first. */
  async list(topic?: string): Promise<DeadLetter[]> {
    const topics = topic ? [topic] : deadLetterTopics(this.prefix);
    await ensureTopics(this.kafka, topics, this.partitions);
    const states = await this.handled();
    const letters: DeadLetter[] = [];
    for (const t of topics) {
      for (const message of await this.read(t)) {
        const ref = `${t}:${message.partition}:${message.offset}`;
        const handled = states.get(ref);
        letters.push({
          ref,
          topic: t,
          reason: message.headers["dlq-reason"] ?? "",
          origin: {
            topic: message.headers["dlq-origin-topic"] ?? "",
            partition: Number(message.headers["dlq-origin-partition"] ?? -1),
            offset: message.headers["dlq-origin-offset"] ?? "",
          },
          eventType: message.headers["event-type"] ?? "",
          aggregateId: message.key,
          at: message.timestamp,
          state: handled?.state ?? "pending",
          handledAt: handled?.at,
          message,
        });
      }
    }
    return letters.sort((a, b) => a.at - b.at);
  }

  private async mark(refs: string[], state: Handled): Promise<void> {
    await this.ensureHandledTopic();
    const producer = await connectProducer(this.kafka);
    try {
      const at = new Date().toISOString();
      await producer.send({
        topic: handledTopic(this.prefix),
        messages: refs.map((ref) => ({ key: ref, value: JSON.stringify({ state, at }) })),
      });
    } finally {
      await producer.disconnect();
    }
  }

  /** Publishes each again to its origin topic (original key and headers), then marks it replayed. */
  async replay(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const producer = await connectProducer(this.kafka);
    try {
      for (const letter of letters) {
        const headers = Object.fromEntries(
          Object.entries(letter.message.headers).filter(([name]) => !DLQ_HEADERS.includes(name)),
        );
        await producer.send({
          topic: letter.origin.topic,
          messages: [{ key: letter.message.key, value: letter.message.value, headers }],
        });
      }
    } finally {
      await producer.disconnect();
    }
    await this.mark(
      letters.map((letter) => letter.ref),
      "replayed",
    );
  }

  async discard(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await this.mark(
      letters.map((letter) => letter.ref),
      "discarded",
    );
  }
}
