// Spans for the reader's MongoDB operations: a CLIENT span per operation, named `<operation>
// <collection>` (e.g. `find products`), with db.system.name, db.namespace, db.collection.name and
// db.operation.name. Our own, in place of the MongoDB instrumentation, which patched every command
// and the connection pool (a span with the command's shape as db.query.text, and an up-down counter
// of the pool's connections at every check-out and check-in): it cost the reader about a tenth of
// its CPU on searches (docs/architecture.md, "Naming conventions", spans).
//
// Only an operation that is part of a trace gets a span: a query under the reader's gRPC span, a
// projection write under its Kafka process span. Bookkeeping that runs on its own (the generations'
// poll, a recount of the tag counts once writes pause) would otherwise be a root trace each time.
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
  return endWhenSettled(span, run());
}
