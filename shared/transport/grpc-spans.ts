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

/** rpc.* attributes of a method path such as /writer.v1.WriterService/CreateProduct. */
export function rpcAttributes(path: string) {
  const [, service = "", method = ""] = path.split("/");
  return { "rpc.system": "grpc", "rpc.service": service, "rpc.method": method };
}

/** Ends an RPC span with its status code; any code but OK is an error on the client side. */
function endRpcSpan(span: Span, code: grpc.status, errorIsFailure: boolean, message?: string): void {
  span.setAttribute("rpc.grpc.status_code", code);
  if (errorIsFailure) span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
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
