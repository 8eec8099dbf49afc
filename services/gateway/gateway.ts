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
import { cors } from "hono/cors";
import { allFunctions } from "#functions/registry.ts";
import type { Config } from "#shared/platform/config.ts";
import { DomainError } from "#shared/platform/errors.ts";
import { healthRoutes } from "#shared/platform/health.ts";
import { serveHttp } from "#shared/platform/http-server.ts";
import type { Log } from "#shared/platform/log.ts";
import { appMetrics, metricsRoutes } from "#shared/platform/telemetry/metrics.ts";
import type { GatewayCalls } from "#shared/transport/function.ts";
import { connectClient } from "#shared/transport/grpc.ts";
import { errorHandler, problemResponse, SECURITY_HEADERS } from "#shared/transport/problem.ts";
import { admission, gatewayAuth } from "./admission.ts";
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

/** Requests that are not worth a trace: probes. */
const UNTRACED = new Set(["/healthz", "/readyz"]);

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

const SECURITY_HEADER_LIST = Object.entries(SECURITY_HEADERS);

/** What a browser may send and read across origins, for the routes' own headers. */
const CORS_REQUEST_HEADERS = [
  "Authorization",
  "Content-Type",
  "If-Match",
  "If-None-Match",
  "X-Min-Version",
  "Idempotency-Key",
  "X-Correlation-Id",
];
const CORS_RESPONSE_HEADERS = ["ETag", "Location", "Retry-After", "X-Trace-Id", "WWW-Authenticate"];

/** A Hono route pattern (/api/v1/products/:id) as a regular expression over paths. */
const patternOf = (path: string) =>
  new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\/:[^/]+/g, "/[^/]+")}$`);

/**
 * A method a known path does not serve is a 405 naming the ones it does (Allow); an unknown path is
 * a 404.
 */
function notFoundOrNotAllowed(app: Hono) {
  let known: { pattern: RegExp; method: string }[] | undefined;
  return (c: Context) => {
    known ??= app.routes
      .filter((route) => route.method !== "ALL")
      .map((route) => ({ pattern: patternOf(route.path), method: route.method }));
    const methods = new Set(known.filter((route) => route.pattern.test(c.req.path)).map((route) => route.method));
    if (methods.size > 0) {
      if (methods.has("GET")) methods.add("HEAD");
      methods.add("OPTIONS");
      const allow = [...methods].sort().join(", ");
      const answer = problemResponse({
        type: "about:blank",
        title: "Method Not Allowed",
        status: 405,
        detail: `${c.req.path} answers ${allow}, not ${c.req.method}`,
      });
      answer.headers.set("Allow", allow);
      return answer;
    }
    return problemResponse({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: `no route for ${c.req.method} ${c.req.path}`,
    });
  };
}

export function gatewayApp(
  clients: { writer: grpc.Client; reader: grpc.Client },
  calls: GatewayCalls,
  log: Log,
  options: { corsOrigins?: readonly string[] } = {},
): Hono {
  const app = new Hono();
  app.onError(errorHandler(log));
  app.notFound(notFoundOrNotAllowed(app));
  // First, so that every answer, a 413 included, is logged, measured and carries its trace id.
  app.use("*", observe(log));
  // Every answer: SECURITY_HEADERS (problem.ts), set before the handler so that Hono builds them
  // into its answer. Not Hono's secureHeaders: setting its dozen headers on each finished answer
  // cost the cached read about a quarter of its throughput (bench smoke, 1,830 -> 1,350/s); the
  // rest are for HTML pages or HTTPS (HSTS belongs to the TLS terminator).
  app.use("*", (c, next) => {
    for (const [name, value] of SECURITY_HEADER_LIST) c.header(name, value);
    return next();
  });
  // Cross-origin calls only from the allowed origins; a preflight is answered either way (204),
  // with the Access-Control-Allow-* headers only for an allowed origin. Requests without an Origin
  // (not from a browser) skip it.
  const origins = new Set(options.corsOrigins ?? []);
  const crossOrigin = cors({
    origin: (origin) => (origins.has(origin) ? origin : null),
    allowMethods: ["GET", "HEAD", "POST", "PATCH", "DELETE"],
    allowHeaders: CORS_REQUEST_HEADERS,
    exposeHeaders: CORS_RESPONSE_HEADERS,
    maxAge: 600,
  });
  app.use("*", (c, next) =>
    c.req.method === "OPTIONS" || c.req.header("origin") !== undefined ? crossOrigin(c, next) : next(),
  );
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
  app.route(
    "/",
    healthRoutes(async () => {
      await Promise.all([channelReady(clients.writer, 1000), channelReady(clients.reader, 1000)]).catch(() => {
        throw new DomainError("unavailable", "writer or reader not reachable");
      });
    }),
  );
  for (const fn of allFunctions) app.route("/", fn.routes(clients[fn.tier], calls));
  app.route("/", docsRoutes(allFunctions));
  return app;
}

export interface Gateway {
  port: number;
  url: string;
  /** Where /metrics is served: a port of its own, not the public one. */
  metricsUrl: string;
  stop(): Promise<void>;
}

export async function startGateway(config: Config, log: Log): Promise<Gateway> {
  const clients = {
    writer: connectClient(config.writer.address, "WRITER_ADDRESS"),
    reader: connectClient(config.reader.address, "READER_ADDRESS"),
  };
  const auth = await gatewayAuth(config, log);
  if (!(await auth.tokens.warm())) {
    log({ level: "warn", msg: "the identity provider's keys could not be read; tokens get 503 until they can" });
  }
  const calls = {
    deadlineMs: config.gateway.grpcDeadlineMs,
    admit: admission(auth.tokens, auth.credential, auth.limits),
  };
  const app = gatewayApp(clients, calls, log, { corsOrigins: config.gateway.corsOrigins });
  const http = await serveHttp(app, config.gateway.host, config.gateway.port);
  const metrics = await serveHttp(metricsRoutes(), config.gateway.metricsHost, config.gateway.metricsPort);
  const url = `http://${config.gateway.host}:${http.port}`;
  const metricsUrl = `http://${config.gateway.metricsHost}:${metrics.port}`;
  log({ msg: "gateway listening", url, metrics: metricsUrl });
  return {
    port: http.port,
    url,
    metricsUrl,
    async stop() {
      await http.close();
      await metrics.close();
      await auth.stop();
      clients.writer.close();
      clients.reader.close();
    },
  };
}
