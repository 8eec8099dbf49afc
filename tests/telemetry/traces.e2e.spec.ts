// Traces end to end: writer, reader and gateway as three processes with telemetry preloaded (as
// `npm start` runs them), exporting to the local Jaeger. One create must be one trace across all
// three, from the gateway's HTTP span through gRPC, PostgreSQL, the outbox relay's Kafka send, and
// the reader's projection (MongoDB, Redis); a read shows whether the cache answered; the log lines
// of a request carry its trace id. Jaeger is read through its query API (scripts/trace.ts).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  fetchTrace,
  formatTrace,
  type JaegerSpan,
  type JaegerTrace,
  parentId,
  serviceOf,
  spanKind,
  tagValue,
} from "#scripts/trace.ts";
import type { ServiceName } from "#services/launch.ts";
import { type Config, loadConfig } from "#shared/platform/config.ts";
import { topicFor } from "#shared/platform/events.ts";
import { adminHeaders } from "../support/auth.ts";
import { processEnv, type ServiceProcess, spawnService, waitReady } from "../support/processes.ts";
import { semanticConventions } from "../support/semconv.ts";
import { cleanUp, eventually, runId } from "../support/system.ts";

const queryUrl = loadConfig().jaeger.queryUrl;
/** Spans reach Jaeger in batches (every 200 ms here), from three processes. */
const TRACE_WAIT_MS = 30_000;

const services = new Map<ServiceName, ServiceProcess>();
let config: Config | undefined;
let base = "";

/** The service's log lines as objects (pino JSON); anything else on stdout is skipped. */
function logLines(name: ServiceName): Record<string, unknown>[] {
  const parsed: Record<string, unknown>[] = [];
  for (const line of services.get(name)?.lines ?? []) {
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === "object" && value !== null) parsed.push(value as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return parsed;
}

function logLine(name: ServiceName, match: (line: Record<string, unknown>) => boolean, what: string) {
  return eventually(`${name} to log ${what}`, async () => logLines(name).find(match), 10_000);
}

before(async () => {
  const { env, urls } = await processEnv("traces");
  config = loadConfig({ ...process.env, ...env });
  base = urls.gateway;
  // All three at once (on 2 cores that saves seconds); the gateway's channels connect when the tiers listen.
  for (const name of ["writer", "reader", "gateway"] as const) {
    services.set(
      name,
      spawnService(name, {
        ...env,
        OTEL_SERVICE_NAME: name,
        OTEL_BSP_SCHEDULE_DELAY: "200",
        // Every line a service can write, its gRPC calls answered OK too: none may carry a token.
        LOG_LEVEL: "debug",
        OTEL_RESOURCE_ATTRIBUTES: `deployment.environment.name=traces-test,service.version=${runId}`,
      }),
    );
  }
  for (const [name, service] of services) await waitReady(service, `${urls[name]}/readyz`, 30_000);
});

after(async () => {
  const exits: string[] = [];
  try {
    for (const name of ["gateway", "reader", "writer"] as const) {
      const service = services.get(name);
      if (!service) continue;
      const code = await service.stop();
      if (code !== 0)
        exits.push(`${name} exited with ${service.child.signalCode ?? `code ${code}`}:\n${service.tail()}`);
    }
  } finally {
    if (config) await cleanUp(config);
  }
  assert.deepEqual(exits, [], "every service stops cleanly on SIGTERM");
});

// --- reading a trace ---------------------------------------------------------------------------

/** The trace as `npm run trace` prints it (a tree by parent), for failure messages. */
const describeTrace = (trace: JaegerTrace) => formatTrace(trace, { color: false, width: 160 });

interface SpanQuery {
  service?: string;
  kind?: string;
  name?: string | RegExp;
  tags?: Record<string, string | number | boolean>;
  parent?: JaegerSpan;
}

function matches(trace: JaegerTrace, span: JaegerSpan, query: SpanQuery): boolean {
  if (query.service !== undefined && serviceOf(trace, span) !== query.service) return false;
  if (query.kind !== undefined && spanKind(span) !== query.kind) return false;
  if (typeof query.name === "string" && span.operationName !== query.name) return false;
  if (query.name instanceof RegExp && !query.name.test(span.operationName)) return false;
  if (query.parent !== undefined && parentId(span) !== query.parent.spanID) return false;
  return Object.entries(query.tags ?? {}).every(([key, value]) => tagValue(span, key) === value);
}

const findSpan = (trace: JaegerTrace, query: SpanQuery) => trace.spans.find((s) => matches(trace, s, query));

function expectSpan(trace: JaegerTrace, what: string, query: SpanQuery): JaegerSpan {
  const span = findSpan(trace, query);
  const wanted = JSON.stringify({ ...query, name: query.name?.toString(), parent: query.parent?.spanID });
  assert.ok(span, `${what}: no span matching ${wanted} in\n${describeTrace(trace)}`);
  return span;
}

/** The span's ancestors, nearest first, as far as the trace has them. */
function ancestors(trace: JaegerTrace, span: JaegerSpan): JaegerSpan[] {
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  const chain: JaegerSpan[] = [];
  for (let parent = byId.get(parentId(span) ?? ""); parent && !chain.includes(parent); ) {
    chain.push(parent);
    parent = byId.get(parentId(parent) ?? "");
  }
  return chain;
}

/** Polls Jaeger until the trace has every span `complete` asks for, then returns it. */
async function traceWhen(traceId: string, what: string, complete: (trace: JaegerTrace) => boolean) {
  let last: JaegerTrace | undefined;
  try {
    return await eventually(
      what,
      async () => {
        last = await fetchTrace(queryUrl, traceId);
        return last && complete(last) ? last : undefined;
      },
      TRACE_WAIT_MS,
    );
  } catch (error) {
    const have = last ? `; Jaeger has:\n${describeTrace(last)}` : "; Jaeger has no span of it";
    throw new Error(`${error instanceof Error ? error.message : String(error)} (trace ${traceId})${have}`);
  }
}

// --- the tests ---------------------------------------------------------------------------------

describe("traces across gateway, writer and reader", () => {
  let createTraceId = "";
  let productId = "";
  /** The complete traces of the create and of the two reads, for the attribute test. */
  const seen: JaegerTrace[] = [];

  test("one create is one trace: HTTP -> gRPC -> PostgreSQL -> outbox relay -> Kafka -> projection", async () => {
    const response = await fetch(`${base}/api/v1/products`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(await adminHeaders()) },
      body: JSON.stringify({
        sku: `trace-${runId}-${Date.now()}`,
        name: "Traced Widget",
        priceCents: 700,
        currency: "EUR",
      }),
    });
    const body = (await response.json()) as { id?: string };
    assert.equal(response.status, 201, JSON.stringify(body));
    productId = String(body.id);
    createTraceId = response.headers.get("x-trace-id") ?? "";
    assert.match(createTraceId, /^[0-9a-f]{32}$/, "X-Trace-Id");

    const projected = (t: JaegerTrace) => {
      const process = findSpan(t, { service: "reader", kind: "consumer" });
      return (
        process !== undefined &&
        // Each process exports on its own schedule: wait for every one's last span of the path.
        findSpan(t, { kind: "server", service: "gateway" }) !== undefined &&
        findSpan(t, { kind: "server", service: "writer" }) !== undefined &&
        findSpan(t, { kind: "producer", service: "writer" }) !== undefined &&
        findSpan(t, { parent: process, tags: { "db.system.name": "mongodb" } }) !== undefined &&
        findSpan(t, { parent: process, tags: { "db.system.name": "redis" } }) !== undefined
      );
    };
    const trace = await traceWhen(createTraceId, "the create's trace down to the reader's projection", projected);
    seen.push(trace);

    assert.deepEqual(
      new Set(Object.values(trace.processes).map((p) => p.serviceName)),
      new Set(["gateway", "writer", "reader"]),
      "spans from all three services",
    );
    for (const { tags: processTags } of Object.values(trace.processes)) {
      const tags = new Map(processTags.map((tag) => [tag.key, tag.value]));
      assert.equal(tags.get("deployment.environment.name"), "traces-test", "OTEL_RESOURCE_ATTRIBUTES is honoured");
      assert.equal(tags.get("service.version"), runId);
      assert.equal(tags.get("telemetry.sdk.language"), "nodejs", "the SDK's own resource is kept");
    }
    const ids = new Set(trace.spans.map((s) => s.spanID));
    const roots = trace.spans.filter((s) => !ids.has(parentId(s) ?? ""));
    assert.equal(roots.length, 1, `one root, every other span has its parent in the trace:\n${describeTrace(trace)}`);

    const http = expectSpan(trace, "gateway HTTP server span", {
      service: "gateway",
      kind: "server",
      name: "POST /api/v1/products",
      tags: { "http.route": "/api/v1/products", "http.response.status_code": 201 },
    });
    assert.equal(roots[0], http, "the gateway's HTTP server span is the root");

    const client = expectSpan(trace, "gateway gRPC client span", {
      service: "gateway",
      kind: "client",
      tags: { "rpc.method": "writer.v1.WriterService/CreateProduct", "rpc.system.name": "grpc" },
      parent: http,
    });
    const server = expectSpan(trace, "writer gRPC server span", {
      service: "writer",
      kind: "server",
      tags: { "rpc.method": "writer.v1.WriterService/CreateProduct", "rpc.status_code": "OK" },
      parent: client,
    });

    const postgres = trace.spans.filter((s) => tagValue(s, "db.system.name") === "postgresql");
    assert.ok(
      postgres.some((s) => serviceOf(trace, s) === "writer" && ancestors(trace, s).includes(server)),
      `a PostgreSQL span under the writer's server span:\n${describeTrace(trace)}`,
    );
    assert.ok(
      postgres.some((s) => /^insert /.test(s.operationName)),
      `an insert statement among the PostgreSQL spans:\n${describeTrace(trace)}`,
    );

    const topic = topicFor(config?.kafka.topicPrefix ?? "", "product");
    const send = expectSpan(trace, "the relay's PRODUCER span", {
      service: "writer",
      kind: "producer",
      tags: { "messaging.destination.name": topic, "messaging.operation.type": "send" },
    });
    assert.ok(
      ancestors(trace, send).includes(server),
      `the send span descends from the writer's server span:\n${describeTrace(trace)}`,
    );

    const process = expectSpan(trace, "the reader's CONSUMER span", {
      service: "reader",
      kind: "consumer",
      tags: { "messaging.destination.name": topic, "messaging.operation.type": "process" },
      parent: send,
    });
    expectSpan(trace, "the projection's MongoDB span", {
      service: "reader",
      tags: { "db.system.name": "mongodb" },
      parent: process,
    });
    expectSpan(trace, "the projection's Redis span (cache invalidation)", {
      service: "reader",
      tags: { "db.system.name": "redis" },
      parent: process,
    });
  });

  test("a read's trace says whether the cache answered: a miss, then a hit", async () => {
    assert.ok(productId, "the create test ran");
    // Readable once projected; waiting on the log rather than on a GET keeps the cache cold.
    await logLine("reader", (l) => l.msg === "event projected" && l.aggregate_id === productId, "the projection");

    const read = async () => {
      const response = await fetch(`${base}/api/v1/products/${productId}`);
      assert.equal(response.status, 200, await response.text());
      const traceId = response.headers.get("x-trace-id") ?? "";
      assert.match(traceId, /^[0-9a-f]{32}$/, "X-Trace-Id");
      return traceId;
    };
    const first = await read();
    const second = await read();
    assert.notEqual(first, second, "each request is its own trace");

    const readerSpan = (t: JaegerTrace) =>
      findSpan(t, { service: "reader", kind: "server", tags: { "rpc.method": "reader.v1.ReaderService/GetProduct" } });
    // The reader's and the gateway's spans arrive in separate exports; the server spans end last.
    const withReader = (t: JaegerTrace) => {
      const span = readerSpan(t);
      return (
        span !== undefined &&
        tagValue(span, "cache.hit") !== undefined &&
        findSpan(t, { service: "gateway", kind: "server" }) !== undefined
      );
    };

    const miss = await traceWhen(first, "the first read's trace with the reader's span", withReader);
    seen.push(miss);
    const missSpan = readerSpan(miss);
    assert.ok(missSpan);
    assert.equal(tagValue(missSpan, "cache.hit"), false, `first read: cache.hit\n${describeTrace(miss)}`);
    const missClient = expectSpan(miss, "gateway gRPC client span", { service: "gateway", kind: "client" });
    assert.equal(parentId(missSpan), missClient.spanID, "the reader's server span is the gateway client's child");
    expectSpan(miss, "the cache lookup", { service: "reader", name: "HGETALL", parent: missSpan });
    assert.ok(
      miss.spans.some((s) => tagValue(s, "db.system.name") === "mongodb" && ancestors(miss, s).includes(missSpan)),
      `a miss reads MongoDB:\n${describeTrace(miss)}`,
    );

    const hit = await traceWhen(second, "the second read's trace with the reader's span", withReader);
    seen.push(hit);
    const hitSpan = readerSpan(hit);
    assert.ok(hitSpan);
    assert.equal(tagValue(hitSpan, "cache.hit"), true, `second read: cache.hit\n${describeTrace(hit)}`);
    expectSpan(hit, "the cache lookup", { service: "reader", name: "HGETALL", parent: hitSpan });
    assert.ok(
      !hit.spans.some((s) => tagValue(s, "db.system.name") === "mongodb"),
      `a hit does not read MongoDB:\n${describeTrace(hit)}`,
    );
  });

  test("every attribute on the spans of a create and a read is current: none deprecated, our own under cqrs.", () => {
    assert.equal(seen.length, 3, "the create's and both reads' traces were read");
    const conventions = semanticConventions();
    // What Jaeger adds to every span it stores, and the two keys the dashboard queries outside cqrs.
    const notAttributes = new Set(["span.kind", "error", "internal.span.format", "otel.status_code"]);
    const notAttributePrefixes = ["otel.scope.", "otel.status_"];
    const documentedExceptions = new Set(["cache.hit", "cache.kind"]);
    const keys = new Map<string, string>();
    for (const trace of seen) {
      for (const span of trace.spans) {
        for (const { key } of span.tags) {
          if (notAttributes.has(key) || notAttributePrefixes.some((p) => key.startsWith(p))) continue;
          keys.set(key, `${serviceOf(trace, span)} ${span.operationName}`);
        }
      }
    }
    assert.ok(keys.size >= 20, `the spans carry attributes: ${[...keys.keys()].join(", ")}`);
    const problems = [...keys].flatMap(([key, where]) => {
      const replacement = conventions.deprecated.get(key);
      if (replacement !== undefined) return [`${key} (on ${where}) is deprecated: ${replacement}`];
      if (conventions.keys.has(key) || key.startsWith("cqrs.") || documentedExceptions.has(key)) return [];
      return [`${key} (on ${where}) is neither a semantic-convention key nor under cqrs.`];
    });
    assert.deepEqual(problems, [], `checked against @opentelemetry/semantic-conventions ${conventions.version}`);
  });

  test("no token, the caller's or the gateway's internal one, is in any log line or exported span", async () => {
    assert.ok(seen.length > 0, "the traces were read");
    const token = (await adminHeaders()).authorization?.replace(/^Bearer /, "") ?? "";
    assert.ok(token.length > 40, "the create was authenticated");
    // Any JWT at all: header and payload are base64url JSON objects, so both start with eyJ.
    const jwt = /eyJ[\w-]+\.eyJ[\w-]+/;
    const found: string[] = [];
    for (const trace of seen) {
      for (const span of trace.spans) {
        for (const { key, value } of span.tags) {
          if (String(value).includes(token) || jwt.test(String(value))) found.push(`span ${span.operationName} ${key}`);
        }
      }
    }
    for (const name of ["writer", "reader", "gateway"] as const) {
      for (const line of services.get(name)?.lines ?? []) {
        if (line.includes(token) || jwt.test(line)) found.push(`${name} log: ${line.slice(0, 120)}`);
      }
    }
    assert.deepEqual(found, []);
    const lines = ["writer", "reader", "gateway"].reduce(
      (n, name) => n + (services.get(name as ServiceName)?.lines.length ?? 0),
      0,
    );
    assert.ok(lines > 10, `the services logged (${lines} lines)`);
  });

  test("an answer the body limit gives (413) carries its trace id too", async () => {
    const response = await fetch(`${base}/api/v1/products`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(await adminHeaders()) },
      body: JSON.stringify({ name: "x".repeat(1024 * 1024 + 1) }),
    });
    await response.body?.cancel();
    assert.equal(response.status, 413);
    assert.match(response.headers.get("x-trace-id") ?? "", /^[0-9a-f]{32}$/);
  });

  test("log lines carry the trace id: the gateway's request line and the reader's projection line", async () => {
    assert.ok(createTraceId, "the create test ran");
    const request = await logLine(
      "gateway",
      (l) => l.msg === "request" && l.trace_id === createTraceId,
      `a request line with trace_id ${createTraceId}`,
    );
    assert.equal(request.method, "POST");
    assert.equal(request.status, 201);
    assert.match(String(request.span_id), /^[0-9a-f]{16}$/);

    const projected = await logLine(
      "reader",
      (l) => l.msg === "event projected" && l.trace_id === createTraceId,
      `an "event projected" line with trace_id ${createTraceId}`,
    );
    assert.equal(projected.aggregate_id, productId);
  });
});
