// The gateway's composition root: the only public entry point. It mounts every function's HTTP
// routes with a gRPC call to the writer or reader in place of the handler, and maps every error to
// problem+json in one place. It holds no state.
import type * as grpc from "@grpc/grpc-js";
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { allFunctions } from "#functions/registry.ts";
import type { Config } from "#shared/platform/config.ts";
import { DomainError } from "#shared/platform/errors.ts";
import { healthRoutes } from "#shared/platform/health.ts";
import { serveHttp } from "#shared/platform/http-server.ts";
import type { Log } from "#shared/platform/log.ts";
import { appMetrics, metricsRoutes } from "#shared/platform/telemetry/metrics.ts";
import { connectClient } from "#shared/transport/grpc.ts";
import { errorHandler, problemResponse } from "#shared/transport/problem.ts";
import { docsRoutes } from "./docs.ts";

const MAX_BODY_BYTES = 1024 * 1024;

/** The route pattern that answered (e.g. /api/v1/products/:id), for span names and metric labels. */
function matchedRoute(c: Context): string {
  const handlers = c.req.matchedRoutes.filter((route) => route.method !== "ALL");
  return handlers.at(-1)?.path ?? "(unmatched)";
}

const tracer = trace.getTracer("cqrs-ts/gateway");

/** Reads W3C trace context from a request's headers. */
const headerGetter: TextMapGetter<Context> = {
  get: (c, key) => c.req.header(key),
  keys: () => ["traceparent", "tracestate", "baggage"],
};

/** Requests that are not worth a trace: probes and scrapes. */
const UNTRACED = new Set(["/metrics", "/healthz", "/readyz"]);

/**
 * Per request: the HTTP server span (continuing a caller's trace context, named after the route),
 * http.server.request.duration, one log line, and the trace id in X-Trace-Id so there is an id to
 * look up. Our own span, not the HTTP instrumentation's: that one wraps every socket event and cost
 * the cached read about a quarter of its throughput (docs/architecture.md, "Naming conventions", spans).
 */
function observe(log: Log): MiddlewareHandler {
  return async function observeRequest(c, next) {
    const started = performance.now();
    const traced = !UNTRACED.has(c.req.path);
    const parent = traced ? propagation.extract(ROOT_CONTEXT, c, headerGetter) : ROOT_CONTEXT;
    const span = traced
      ? tracer.startSpan(
          c.req.method,
          {
            kind: SpanKind.SERVER,
            attributes: { "http.request.method": c.req.method, "url.path": c.req.path, "url.scheme": "http" },
          },
          parent,
        )
      : undefined;
    try {
      await (span ? context.with(trace.setSpan(parent, span), next) : next());
    } catch (error) {
      span?.end();
      throw error;
    }
    const route = matchedRoute(c);
    const status = c.res.status;
    if (span) {
      span.updateName(`${c.req.method} ${route}`);
      span.setAttribute("http.route", route);
      span.setAttribute("http.response.status_code", status);
      if (status >= 500) {
        // The HTTP conventions: a server error's class is its status code.
        span.setAttribute("error.type", String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      c.res.headers.set("X-Trace-Id", span.spanContext().traceId);
    }
    const seconds = (performance.now() - started) / 1000;
    appMetrics().httpServerDuration.record(seconds, {
      "http.request.method": c.req.method,
      "http.route": route,
      "http.response.status_code": status,
    });
    if (!span) return;
    // In the span's context, so the line carries its trace id.
    context.with(trace.setSpan(parent, span), () =>
      log({
        msg: "request",
        method: c.req.method,
        route,
        path: c.req.path,
        status,
        duration_ms: Math.round(seconds * 1e4) / 10,
      }),
    );
    span.end();
  };
}

function channelReady(client: grpc.Client, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + ms, (error) => (error ? reject(error) : resolve()));
  });
}

export function gatewayApp(clients: { writer: grpc.Client; reader: grpc.Client }, deadlineMs: number, log: Log): Hono {
  const app = new Hono();
  app.onError(errorHandler(log));
  app.notFound((c) =>
    problemResponse({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: `no route for ${c.req.method} ${c.req.path}`,
    }),
  );
  // First, so that every answer, a 413 included, is logged, measured and carries its trace id.
  app.use("*", observe(log));
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () =>
      problemResponse({
        type: "about:blank",
        title: "Payload Too Large",
        status: 413,
        detail: `bodies are at most ${MAX_BODY_BYTES} bytes`,
      }),
  });
  // GET and HEAD bodies are never read; skipping them spares the hot read path the Fetch Request
  // object that inspecting the body would build (about 4% of the gateway's CPU on cached reads).
  app.use("/api/*", (c, next) => (c.req.method === "GET" || c.req.method === "HEAD" ? next() : limitBody(c, next)));
  app.route("/", metricsRoutes());
  app.route(
    "/",
    healthRoutes(async () => {
      await Promise.all([channelReady(clients.writer, 1000), channelReady(clients.reader, 1000)]).catch(() => {
        throw new DomainError("unavailable", "writer or reader not reachable");
      });
    }),
  );
  for (const fn of allFunctions) app.route("/", fn.routes(clients[fn.tier], deadlineMs));
  app.route("/", docsRoutes(allFunctions));
  return app;
}

export interface Gateway {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function startGateway(config: Config, log: Log): Promise<Gateway> {
  const clients = {
    writer: connectClient(config.writer.address, "WRITER_ADDRESS"),
    reader: connectClient(config.reader.address, "READER_ADDRESS"),
  };
  const app = gatewayApp(clients, config.gateway.grpcDeadlineMs, log);
  const http = await serveHttp(app, config.gateway.host, config.gateway.port);
  const url = `http://${config.gateway.host}:${http.port}`;
  log({ msg: "gateway listening", url });
  return {
    port: http.port,
    url,
    async stop() {
      await http.close();
      clients.writer.close();
      clients.reader.close();
    },
  };
}
