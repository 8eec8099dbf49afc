// Appending an event to the outbox inside the command's transaction. The relay publishes it later;
// the writer never talks to Kafka inside a request (no dual write).
import { context, propagation } from "@opentelemetry/api";
import { and, isNotNull, lt } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { ENVELOPE_VERSION, type EventEnvelope } from "../platform/events.ts";
import { outbox } from "./db/schema.ts";
import type { WriterDb, WriterTx } from "./writer-deps.ts";

export interface NewEvent {
  aggregateType: string;
  aggregateId: string;
  type: string;
  /** The schema version of `data` for this type (its AggregateEvents entry). */
  schemaVersion: number;
  version: number;
  occurredAt: Date;
  data: Record<string, unknown>;
  /** The envelope's metadata (actor, correlation id...), if any. */
  metadata?: Record<string, string>;
}

export async function appendEvent(tx: WriterTx, event: NewEvent): Promise<EventEnvelope> {
  const envelope: EventEnvelope = {
    envelopeVersion: ENVELOPE_VERSION,
    eventId: uuidv7(),
    type: event.type,
    aggregateId: event.aggregateId,
    version: event.version,
    occurredAt: event.occurredAt.toISOString(),
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata ?? {},
  };
  // The command's trace context rides with the event, so the publish and the projection join its trace.
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  await tx.insert(outbox).values({
    eventId: envelope.eventId,
    aggregateType: event.aggregateType,
    aggregateId: event.aggregateId,
    type: event.type,
    version: event.version,
    envelope,
    headers,
  });
  return envelope;
}

/**
 * Deletes rows the relay published before `sentBefore` (OUTBOX_RETENTION_HOURS): unsent rows are
 * never touched. Nothing reads sent rows back; they are kept a while to trace what was published.
 */
export async function deleteSentRows(db: WriterDb, sentBefore: Date): Promise<number> {
  const deleted = await db
    .delete(outbox)
    .where(and(isNotNull(outbox.sentAt), lt(outbox.sentAt, sentBefore)))
    .returning({ id: outbox.id });
  return deleted.length;
}
