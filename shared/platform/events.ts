// The event envelope on Kafka (docs/architecture.md, "Events"), validated on both sides, and each
// aggregate's closed set of event types. `data` carries the aggregate's full state after the
// change, so a projection can apply any newer version directly.
//
// The envelope has a version of its own, raised only when one of its fields changes meaning or goes
// away: a reader refuses (dead-letters) an envelope version it does not know. Additions never raise
// it: a field this reader does not know, at the top or in `metadata`, is carried along, never
// refused, so a writer that adds one cannot make an older reader dead-letter a valid event.
import * as v from "valibot";

/** The envelope version this code writes, and the newest it reads. */
export const ENVELOPE_VERSION = 2;

export const EventEnvelope = v.looseObject({
  /** Absent on the first envelopes (version 1: no metadata). */
  envelopeVersion: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1),
      v.maxValue(
        ENVELOPE_VERSION,
        `an envelope version newer than ${ENVELOPE_VERSION}, which this reader does not know`,
      ),
    ),
    1,
  ),
  eventId: v.pipe(v.string(), v.uuid()),
  type: v.pipe(v.string(), v.minLength(1)),
  aggregateId: v.pipe(v.string(), v.uuid()),
  version: v.pipe(v.number(), v.integer(), v.minValue(1)),
  occurredAt: v.pipe(v.string(), v.isoTimestamp()),
  /** The schema version of `data` for this event type (each type has its own). */
  schemaVersion: v.pipe(v.number(), v.integer()),
  data: v.record(v.string(), v.unknown()),
  /**
   * About the event rather than the aggregate: who caused it (`actor`), what request it belongs to
   * (`correlationId`). String values; a reader ignores the keys it does not know.
   */
  metadata: v.optional(v.record(v.string(), v.string()), {}),
});

/** An envelope as it is written (envelopeVersion and metadata may be left out by older writers). */
export type EventEnvelope = v.InferInput<typeof EventEnvelope>;

export type EventData = Record<string, unknown>;

/** One event type: its current schema version, and how to bring each older version's data up by one. */
export interface EventTypeSpec {
  version: number;
  /** Keyed by the version an upcaster reads: upcasters[1] turns version-1 data into version 2. */
  upcasters?: Record<number, (data: EventData) => EventData>;
}

/**
 * An aggregate's events, declared once: the writer's `decide` may only return these types, the
 * outbox stamps each with its current schema version, and the read model accepts exactly these
 * (anything else, or a version it cannot bring up to date, goes to the dead-letter topic: during a
 * rolling deploy a newer writer can emit what an older reader does not know).
 */
export interface AggregateEvents<T extends string, D> {
  aggregateType: string;
  types: Record<T, EventTypeSpec>;
  /** The state every event of this aggregate carries, at the current schema versions. */
  data: v.GenericSchema<unknown, D>;
}

export function defineEvents<const T extends string, D>(events: AggregateEvents<T, D>): AggregateEvents<T, D> {
  return events;
}

export type EventTypeOf<E> = E extends AggregateEvents<infer T, unknown> ? T : never;

/** The envelope's data at the current schema version of its type, or why it cannot be had. */
export function upcast<T extends string, D>(
  events: AggregateEvents<T, D>,
  envelope: Pick<EventEnvelope, "type" | "schemaVersion" | "data">,
): { ok: true; type: T; data: EventData } | { ok: false; reason: string } {
  if (!Object.hasOwn(events.types, envelope.type)) return { ok: false, reason: `unknown event type ${envelope.type}` };
  const type = envelope.type as T;
  const spec = events.types[type];
  if (envelope.schemaVersion > spec.version || envelope.schemaVersion < 1) {
    return { ok: false, reason: `unknown schema version ${envelope.schemaVersion} of ${type}` };
  }
  let data = envelope.data;
  for (let version = envelope.schemaVersion; version < spec.version; version++) {
    const up = spec.upcasters?.[version];
    if (!up) return { ok: false, reason: `no upcaster for ${type} schema version ${version}` };
    data = up(data);
  }
  return { ok: true, type, data };
}

/** Kafka topic of an aggregate type, e.g. product -> product-events; the prefix isolates test runs. */
export const topicFor = (prefix: string, aggregateType: string) => `${prefix}${aggregateType}-events`;
export const deadLetterTopicFor = (topic: string) => `${topic}.dlq`;
