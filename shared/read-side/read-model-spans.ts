// Spans for the reader's MongoDB operations: a CLIENT span per operation, named `<operation>
// <collection>` (e.g. `find products`), with db.system.name, db.namespace, db.collection.name and
// db.operation.name. Our own, in place of the MongoDB instrumentation, which patched every command
// and the connection pool (a span with the command's shape as db.query.text, and an up-down counter
// of the pool's connections at every check-out and check-in): it cost the reader about a tenth of
// its CPU on searches (docs/architecture.md, "Naming conventions", spans).
//
// Only an operation that is part of a trace gets a span: a query under the reader's gRPC span, a
// projection write, or the generations' read a projection write waits for, under its Kafka process
// span. The generations' own poll, on a timer started with no span, makes none rather than a root
// trace each time. (The tag counts' recount is not wrapped: its timer is set while an event's span
// is active, so its spans would join a trace that had already ended.)
import { SpanKind, trace } from "@opentelemetry/api";
import { endWhenSettled } from "../platform/telemetry/span-errors.ts";

const tracer = trace.getTracer("cqrs-ts/read-model");

/** What names the operation's target: a collection (the driver's `Collection` has both). */
export interface Target {
  dbName: string;
  collectionName: string;
}

/** Runs `run`, one `operation` (find, bulkWrite...) on `target`, in a span of the active trace. */
export function traced<T>(target: Target, operation: string, run: () => Promise<T>): Promise<T> {
  if (trace.getActiveSpan() === undefined) return run();
  const span = tracer.startSpan(`${operation} ${target.collectionName}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      "db.system.name": "mongodb",
      "db.namespace": target.dbName,
      "db.collection.name": target.collectionName,
      "db.operation.name": operation,
    },
  });
  let pending: Promise<T>;
  try {
    pending = run();
  } catch (error) {
    // Building the operation can throw before any promise exists (a bad cursor, a bad sort).
    pending = Promise.reject(error);
  }
  return endWhenSettled(span, pending);
}
