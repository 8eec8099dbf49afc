// The event envelope on Kafka (design.md §4), validated on both sides. `data` carries the
// aggregate's full state after the change, so a projection can apply any newer version directly.
import * as v from "valibot";

export const SCHEMA_VERSION = 1;

export const EventEnvelope = v.strictObject({
  eventId: v.pipe(v.string(), v.uuid()),
  type: v.pipe(v.string(), v.minLength(1)),
  aggregateId: v.pipe(v.string(), v.uuid()),
  version: v.pipe(v.number(), v.integer(), v.minValue(1)),
  occurredAt: v.pipe(v.string(), v.isoTimestamp()),
  schemaVersion: v.pipe(v.number(), v.integer()),
  data: v.record(v.string(), v.unknown()),
});

export type EventEnvelope = v.InferOutput<typeof EventEnvelope>;

/** Kafka topic of an aggregate type, e.g. product -> product-events; the prefix isolates test runs. */
export const topicFor = (prefix: string, aggregateType: string) => `${prefix}${aggregateType}-events`;
export const deadLetterTopicFor = (topic: string) => `${topic}.dlq`;
