// Spans for the unary calls between tiers, following the RPC semantic conventions: a CLIENT span
// around each call whose context travels in the call's metadata (W3C trace context), and a SERVER
// span on the other side that continues it. Our own thin layer in place of the gRPC
// instrumentation, which wraps every grpc-js call path and costs the cached read a third of its
// throughput (docs/architecture.md, "Naming conventions", spans).
import type * as grpc from "@grpc/grpc-js";
import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";

const tracer = trace.getTracer("cqrs-ts/grpc");

const setter: TextMapSetter<grpc.Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};

const getter: TextMapGetter<grpc.Metadata> = {
  get: (metadata, key) => {
    const [value] = metadata.get(key);
    return value === undefined ? undefined : String(value);
  },
  keys: (metadata) => Object.keys(metadata.getMap()),
};

/** gRPC's status codes by number, as the RPC conventions want them in rpc.status_code. */
const STATUS_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/** A status code's name (OK, NOT_FOUND...), or its number for one gRPC does not define. */
export const statusName = (code: grpc.status): string => STATUS_NAMES[code] ?? String(code);

/**
 * rpc.* attributes of a method path such as /writer.v1.WriterService/CreateProduct: the system and
 * the fully-qualified method (rpc.service is deprecated: the service is part of rpc.method).
 */
export function rpcAttributes(path: string) {
  return { "rpc.system.name": "grpc", "rpc.method": path.slice(1) };
}

/** Ends an RPC span with its status code; a failure also gets error.type (the code's name). */
function endRpcSpan(span: Span, code: grpc.status, errorIsFailure: boolean, message?: string): void {
  span.setAttribute("rpc.status_code", statusName(code));
  if (errorIsFailure) {
    span.setAttribute("error.type", statusName(code));
    span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
  }
  span.end();
}

/** UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS. */
const SERVER_FAULTS = new Set([2, 4, 12, 13, 14, 15]);

/** Starts the CLIENT span of a call to `path` and puts its context in `metadata`. */
export function startClientSpan(path: string, metadata: grpc.Metadata): (code: grpc.status, message?: string) => void {
  const parent = context.active();
  const span = tracer.startSpan(path.slice(1), { kind: SpanKind.CLIENT, attributes: rpcAttributes(path) }, parent);
  propagation.inject(trace.setSpan(parent, span), metadata, setter);
  return (code, message) => endRpcSpan(span, code, code !== 0, message);
}

/**
 * Starts the SERVER span of a call to `path`, continuing the trace in `metadata`; returns the
 * context to run the handler in and how to end it. As the RPC conventions say, only the codes of a
 * server's own failure mark it an error: NOT_FOUND or INVALID_ARGUMENT are answers, not faults.
 */
export function startServerSpan(
  path: string,
  metadata: grpc.Metadata,
): { context: Context; end(code: grpc.status, message?: string): void } {
  const parent = propagation.extract(context.active(), metadata, getter);
  const span = tracer.startSpan(path.slice(1), { kind: SpanKind.SERVER, attributes: rpcAttributes(path) }, parent);
  return {
    context: trace.setSpan(parent, span),
    end: (code, message) => endRpcSpan(span, code, SERVER_FAULTS.has(code), message),
  };
}
