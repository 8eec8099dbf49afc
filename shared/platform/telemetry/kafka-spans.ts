// Producer and consumer spans for Kafka, following the messaging semantic conventions of the pinned
// @opentelemetry/semantic-conventions (no deprecated key: docs/architecture.md, "Naming conventions"). The
// Confluent client has no instrumentation maintained by the OpenTelemetry project. The trace context
// crosses Kafka in the W3C `traceparent`/`tracestate` message headers: a publish span is a child of
// the context the outbox row carried (the command's), a process span a child of the publish span.
import { type Context, context, propagation, type Span, SpanKind, trace } from "@opentelemetry/api";
import { markFailed } from "./span-errors.ts";

const tracer = trace.getTracer("cqrs-ts/kafka");

const base = (topic: string) => ({ "messaging.system.name": "kafka", "messaging.destination.name": topic });

/** Starts the publish span of one message under the context stored in `headers`; injects its own. */
export function startPublishSpan(topic: string, key: string, headers: Record<string, string>): Span {
  const parent: Context = propagation.extract(context.active(), headers);
  const span = tracer.startSpan(
    `send ${topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...base(topic),
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "kafka.message.key": key,
      },
    },
    parent,
  );
  propagation.inject(trace.setSpan(parent, span), headers);
  return span;
}

export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) markFailed(span, error);
  span.end();
}

/** A process span that continues the trace in the message's headers, and the context to work in. */
export function startProcessSpan(message: {
  topic: string;
  group: string;
  partition: number;
  offset: string;
  key?: string;
  headers: Record<string, string>;
}): { span: Span; context: Context } {
  const parent = propagation.extract(context.active(), message.headers);
  const span = tracer.startSpan(
    `process ${message.topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...base(message.topic),
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.consumer.group.name": message.group,
        "messaging.destination.partition.id": String(message.partition),
        "kafka.offset": Number(message.offset),
        ...(message.key ? { "kafka.message.key": message.key } : {}),
      },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}
