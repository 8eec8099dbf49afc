// Reading a topic whole (the dead-letter tool; the tests, so that a message published twice would be
// read twice), and deleting the consumer groups that did the reading.
import type { KafkaJS } from "@confluentinc/kafka-javascript";
import { FETCH_WAIT_MAX_MS, headerStrings } from "#shared/platform/kafka.ts";

export interface TopicMessage {
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  /** When the broker stored it (milliseconds since the epoch). */
  timestamp: number;
}

/**
 * Reads `topic` from the beginning up to its current end with the fresh consumer group `groupId`
 * (the caller deletes it). Messages in arrival order, ordered per partition.
 */
export async function readWholeTopic(kafka: KafkaJS.Kafka, topic: string, groupId: string): Promise<TopicMessage[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const consumer: KafkaJS.Consumer = kafka.consumer({
    "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
    kafkaJS: { groupId, fromBeginning: true, autoCommit: false },
  });
  const received: TopicMessage[] = [];
  const next = new Map<number, bigint>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? "",
          value: message.value?.toString() ?? "",
          headers: headerStrings(message.headers),
          timestamp: Number(message.timestamp),
        });
        next.set(partition, BigInt(message.offset) + 1n);
      },
    });
    const deadline = Date.now() + 30_000;
    while (![...ends].every(([p, end]) => (next.get(p) ?? 0n) >= end)) {
      if (Date.now() > deadline) {
        const wanted = JSON.stringify([...ends].map(([p, o]) => [p, String(o)]));
        throw new Error(`could not read the whole of ${topic} (ends ${wanted}) within 30 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await consumer.disconnect();
  }
  return received;
}

/** Deletes the given consumer groups; one that the broker already forgot is fine. */
export async function deleteGroups(kafka: KafkaJS.Kafka, groups: string[]): Promise<void> {
  if (groups.length === 0) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteGroups(groups).catch((error: unknown) => {
      const reports = (error as { groups?: { error?: { code?: number } }[] }).groups ?? [];
      // 69 = GROUP_ID_NOT_FOUND: an empty group without offsets may be gone already.
      const onlyMissing = reports.length > 0 && reports.every((r) => r.error === undefined || r.error.code === 69);
      if (!onlyMissing) throw error;
    });
  } finally {
    await admin.disconnect();
  }
}
