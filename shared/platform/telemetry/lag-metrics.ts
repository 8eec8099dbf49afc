// How far behind the system is: the writer's outbox backlog (unsent rows, age of the oldest) and the
// reader's consumer lag per partition (high watermark minus committed offset). Both are observed
// when /metrics is scraped, from at most one query every few seconds.
import type { KafkaJS } from "@confluentinc/kafka-javascript";
import type postgres from "postgres";
import { meter } from "./metrics.ts";

const MIN_INTERVAL_MS = 5000;

/** Runs `load` at most once per MIN_INTERVAL_MS; scrapes in between see the last result. */
function throttled<T>(initial: T, load: () => Promise<T>): () => Promise<T> {
  let last = initial;
  let at = 0;
  let pending: Promise<T> | undefined;
  return async () => {
    if (Date.now() - at < MIN_INTERVAL_MS) return last;
    pending ??= load()
      .then((value) => {
        last = value;
        at = Date.now();
        return value;
      })
      .catch(() => last)
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

export function observeOutboxBacklog(sql: postgres.Sql): void {
  const m = meter();
  const backlog = m.createObservableGauge("cqrs.outbox.backlog", { description: "Outbox rows not yet published" });
  const oldest = m.createObservableGauge("cqrs.outbox.oldest_age", {
    description: "Age of the oldest unpublished outbox row",
    unit: "s",
  });
  const read = throttled({ rows: 0, age: 0 }, async () => {
    const [row] = await sql<{ rows: string; age: number | null }[]>`
      select count(*) as rows, extract(epoch from now() - min(created_at))::float8 as age
      from outbox where sent_at is null`;
    return { rows: Number(row?.rows ?? 0), age: row?.age ?? 0 };
  });
  m.addBatchObservableCallback(
    async (result) => {
      const value = await read();
      result.observe(backlog, value.rows);
      result.observe(oldest, value.age);
    },
    [backlog, oldest],
  );
}

export function observeConsumerLag(kafka: KafkaJS.Kafka, groupId: string, topics: string[]): () => Promise<void> {
  const m = meter();
  const lag = m.createObservableGauge("messaging.kafka.consumer.lag", {
    description: "Messages not yet consumed, per partition",
  });
  const admin = kafka.admin();
  const connected = admin.connect().then(
    () => true,
    () => false,
  );
  const read = throttled<{ topic: string; partition: number; lag: number }[]>([], async () => {
    if (!(await connected)) return [];
    const committed = await admin.fetchOffsets({ groupId, topics });
    const rows: { topic: string; partition: number; lag: number }[] = [];
    for (const topic of topics) {
      const high = await admin.fetchTopicOffsets(topic);
      const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const { partition, high: end } of high) {
        const offset = Number(done.find((p) => p.partition === partition)?.offset ?? "-1");
        rows.push({ topic, partition, lag: Math.max(0, Number(end) - Math.max(offset, 0)) });
      }
    }
    return rows;
  });
  m.addBatchObservableCallback(
    async (result) => {
      for (const row of await read()) {
        result.observe(lag, row.lag, {
          "messaging.destination.name": row.topic,
          "messaging.destination.partition.id": String(row.partition),
          "messaging.consumer.group.name": groupId,
        });
      }
    },
    [lag],
  );
  return async () => {
    if (await connected) await admin.disconnect();
  };
}
