// The thin gRPC shim between tiers: one generic server-side binding of a function to its unary
// method, and one generic client call with a deadline. Generated code (proto/gen) supplies the
// method definitions; nothing here knows any particular function.
import * as grpc from "@grpc/grpc-js";
import { context } from "@opentelemetry/api";
import type * as v from "valibot";
import { ConfigError } from "../platform/config.ts";
import { describeError, isDependencyDown } from "../platform/dependency-errors.ts";
import { DomainError, unavailable } from "../platform/errors.ts";
import type { Log } from "../platform/log.ts";
import { appMetrics } from "../platform/telemetry/metrics.ts";
import { rpcAttributes, startClientSpan, startServerSpan, statusName } from "./grpc-spans.ts";
import { fromServiceError, toServiceError } from "./grpc-status.ts";
import { parseInput } from "./validation.ts";

/** What ts-proto generates for each unary method. */
export interface UnaryMethod<Req, Res> {
  path: string;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(value: Buffer): Req;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(value: Buffer): Res;
}

/** rpc.* attributes of a call's metrics. */
const rpcMetricAttributes = (path: string, code: grpc.status) => ({
  ...rpcAttributes(path),
  "rpc.status_code": statusName(code),
});

/** A call its admission refused (no valid internal credential). */
class Refused extends Error {
  constructor(cause: unknown) {
    super("refused", { cause });
  }
}

/** What a failed handler answers: its domain error, `unavailable` when a dependency is down, else none. */
function domainErrorOf(error: unknown): DomainError | undefined {
  if (error instanceof DomainError) return error;
  if (isDependencyDown(error)) return unavailable("a database this service depends on is unavailable; try again");
  return undefined;
}

/**
 * Registers `handle` as the unary method `method` on `server`. The request is validated again here:
 * gRPC is a trust boundary. Domain errors become their status; anything else is logged and INTERNAL.
 */
export function serveUnary<Req, Res>(
  server: grpc.Server,
  method: UnaryMethod<Req, Res>,
  schema: v.GenericSchema<unknown, Req>,
  handle: (request: Req, metadata: grpc.Metadata) => Promise<Res>,
  log: Log,
  admit?: (metadata: grpc.Metadata) => Promise<void>,
): void {
  const handler: grpc.handleUnaryCall<Req, Res> = (call, callback) => {
    const started = performance.now();
    const span = startServerSpan(method.path, call.metadata);
    /**
     * Ends the span, records the call's duration and logs its one line (`failure` says why it failed:
     * a dependency's error in one line, a bug as the error itself, with its stack and causes). A call
     * answered OK logs at debug: the gateway's line for the request, under the same trace id, says it
     * already, and writing a second line per request cost the reader about a twelfth of its CPU on
     * cached reads. LOG_LEVEL=debug shows them.
     */
    const finish = (code: grpc.status, failure?: { level: "warn" | "error"; error: unknown }) => {
      const description = failure ? describeError(failure.error) : undefined;
      const seconds = (performance.now() - started) / 1000;
      appMetrics().rpcServerDuration.record(seconds, rpcMetricAttributes(method.path, code));
      log({
        level: failure?.level ?? (code === grpc.status.OK ? "debug" : "info"),
        msg: "rpc",
        rpc: method.path,
        code: grpc.status[code],
        duration_ms: Math.round(seconds * 10_000) / 10,
        ...(failure ? { err: failure.level === "error" ? failure.error : description } : {}),
      });
      span.end(code, description);
    };
    // The log line is written in the span's context too, so it carries the trace id.
    context.with(span.context, () =>
      (admit ? admit(call.metadata) : Promise.resolve())
        .then(
          () => handle(parseInput(schema, call.request), call.metadata),
          (refusal: unknown) => {
            throw new Refused(refusal);
          },
        )
        .then(
          (response) => {
            finish(grpc.status.OK);
            callback(null, response);
          },
          (error: unknown) => {
            if (error instanceof Refused) {
              // Not a domain error: the gateway that sent it is misconfigured, its client is not at
              // fault, so no domain code travels (the gateway answers 500 and logs it).
              const unavailableKeys = (error.cause as Error).name === "KeysUnavailable";
              const code = unavailableKeys ? grpc.status.UNAVAILABLE : grpc.status.UNAUTHENTICATED;
              finish(code, { level: "warn", error: error.cause });
              return callback({ code, details: (error.cause as Error).message });
            }
            const failure = domainErrorOf(error);
            if (failure) {
              const serviceError = toServiceError(failure);
              const downstream = failure.code === "unavailable" && !(error instanceof DomainError);
              finish(serviceError.code ?? grpc.status.UNKNOWN, downstream ? { level: "warn", error } : undefined);
              return callback(serviceError);
            }
            finish(grpc.status.INTERNAL, { level: "error", error });
            callback({ code: grpc.status.INTERNAL, details: "internal error" });
          },
        ),
    );
  };
  server.register(method.path, handler, method.responseSerialize, method.requestDeserialize, "unary");
}

/** One unary call with a deadline; a failure is the DomainError it maps to. */
export function callUnary<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  deadlineMs: number,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<Res> {
  const started = performance.now();
  const endSpan = startClientSpan(method.path, metadata);
  const record = (code: grpc.status, message?: string) => {
    appMetrics().rpcClientDuration.record((performance.now() - started) / 1000, rpcMetricAttributes(method.path, code));
    endSpan(code, message);
  };
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + deadlineMs },
      (error, response) => {
        record(error ? error.code : grpc.status.OK, error?.details);
        if (error) reject(fromServiceError(error));
        else if (response === undefined) reject(new DomainError("internal", `empty response from ${method.path}`));
        else resolve(response);
      },
    );
  });
}

/** A plaintext client for the tier at `address` (tiers talk on a private network). */
export function connectClient(address: string, variable = "address"): grpc.Client {
  return new grpc.Client(grpcTarget(address, variable), grpc.credentials.createInsecure(), {
    "grpc.keepalive_time_ms": 30_000,
    "grpc.enable_retries": 1,
    // Every address the target resolves to, in turn; one that stops answering is skipped until it
    // answers again (grpc-js's round_robin), so a tier's replica can die without failing new calls.
    "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  });
}

const IPV4_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/;
const IPV6_ADDRESS = /^\[[0-9a-fA-F:.]+\]:\d{1,5}$/;

/**
 * The grpc-js target of WRITER_ADDRESS or READER_ADDRESS: one `host:port` (a DNS name resolves to
 * all its records, e.g. compose's replicas of one service), or several `ip:port` separated by commas
 * (e.g. two local replicas), which grpc-js takes as one `ipv4:` or `ipv6:` list.
 */
export function grpcTarget(address: string, variable = "address"): string {
  const parts = address
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  if (parts.length === 0) throw new ConfigError(`${variable} is empty`);
  if (parts.length === 1) return parts[0] as string;
  if (parts.every((part) => IPV4_ADDRESS.test(part))) return `ipv4:${parts.join(",")}`;
  if (parts.every((part) => IPV6_ADDRESS.test(part))) return `ipv6:${parts.join(",")}`;
  throw new ConfigError(
    `${variable}=${address}: several addresses must all be IPv4 ip:port or all [IPv6]:port (a DNS name with several records is balanced as one address)`,
  );
}

/** Binds a gRPC server to host:port; resolves with the port actually bound (0 picks a free one). */
export function listen(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
      if (error) reject(error);
      else resolve(bound);
    });
  });
}
