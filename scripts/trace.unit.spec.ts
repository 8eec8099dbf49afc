import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  buildTree,
  formatMicros,
  formatTrace,
  type JaegerTrace,
  parseJaegerResponse,
  type SpanNode,
  shorten,
} from "./trace.ts";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const ESC = "\u001b";
const t0 = 1_700_000_000_000_000; // microseconds, as Jaeger has them

const tag = (key: string, value: string | number | boolean) => ({
  key,
  type: typeof value === "string" ? "string" : typeof value === "boolean" ? "bool" : "int64",
  value,
});
const span = (
  spanID: string,
  operationName: string,
  processID: string,
  parent: string | null,
  start: number,
  duration: number,
  tags: ReturnType<typeof tag>[],
  extra: Record<string, unknown> = {},
) => ({
  traceID: T,
  spanID,
  operationName,
  references: parent === null ? null : [{ refType: "CHILD_OF", traceID: T, spanID: parent }],
  startTime: t0 + start,
  duration,
  tags,
  logs: [],
  processID,
  warnings: null,
  ...extra,
});

/** A create as the API returns it: spans out of order, some fields null, one orphan, one error. */
const response = {
  data: [
    {
      traceID: T,
      processes: {
        p1: { serviceName: "gateway", tags: [] },
        p2: { serviceName: "writer" },
        p3: { serviceName: "reader" },
      },
      warnings: null,
      spans: [
        span("proc", "process product-events", "p3", "send", 30_000, 8_000, [
          tag("span.kind", "consumer"),
          tag("messaging.destination.name", "product-events"),
          tag("otel.status_code", "ERROR"),
          tag("otel.status_description", "boom"),
        ]),
        span("root", "POST /api/v1/products", "p1", null, 0, 40_000, [
          tag("span.kind", "server"),
          tag("http.route", "/api/v1/products"),
          tag("http.response.status_code", 201),
          tag("url.path", "/api/v1/products"),
        ]),
        span("wsrv", "grpc.writer.v1.WriterService/CreateProduct", "p2", "gcli", 2_000, 12_000, [
          tag("span.kind", "server"),
          tag("rpc.method", "writer.v1.WriterService/CreateProduct"),
          tag("rpc.status_code", "OK"),
        ]),
        span("gcli", "grpc.writer.v1.WriterService/CreateProduct", "p1", "root", 1_000, 15_000, [
          tag("span.kind", "client"),
          tag("rpc.method", "writer.v1.WriterService/CreateProduct"),
          tag("rpc.status_code", "NOT_FOUND"),
        ]),
        span("ins", "insert products", "p2", "wsrv", 4_000, 750, [
          tag("span.kind", "client"),
          tag("db.system.name", "postgresql"),
          tag(
            "db.query.text",
            `insert into "products"\n   ("id", "sku", "name", "description", "price_cents", "currency", "stock")\n values ($1, $2, $3, $4, $5, $6, $7)`,
          ),
        ]),
        span("send", "send product-events", "p2", "wsrv", 20_000, 2_000, [
          tag("span.kind", "producer"),
          tag("messaging.destination.name", "product-events"),
        ]),
        span("sel", "select products", "p2", "wsrv", 3_000, 500, [
          tag("span.kind", "client"),
          tag("db.system.name", "postgresql"),
        ]),
        span("lost", "redis-EVAL", "p3", "gone", 36_000, 1_000, [
          tag("span.kind", "client"),
          tag("db.system.name", "redis"),
          tag("cache.hit", false),
        ]),
      ],
    },
  ],
  total: 0,
  limit: 0,
  offset: 0,
  errors: null,
};

function only(): JaegerTrace {
  const [trace] = parseJaegerResponse(response).traces;
  assert.ok(trace);
  return trace;
}

const names = (nodes: SpanNode[]): unknown[] =>
  nodes.map((node) => (node.children.length > 0 ? [node.span.spanID, names(node.children)] : node.span.spanID));

describe("parseJaegerResponse", () => {
  test("reads the query API's shape, null lists as empty", () => {
    const trace = only();
    assert.equal(trace.spans.length, 8);
    assert.deepEqual(trace.spans.find((s) => s.spanID === "root")?.references, []);
    assert.deepEqual(trace.warnings, []);
  });

  test("returns Jaeger's error messages", () => {
    const parsed = parseJaegerResponse({ data: null, errors: [{ code: 404, msg: "trace not found" }] });
    assert.deepEqual(parsed, { traces: [], errors: ["trace not found"] });
  });

  test("refuses something that is not a Jaeger answer, saying where", () => {
    assert.throws(
      () => parseJaegerResponse({ data: [{ traceID: 1 }] }),
      /unexpected answer from Jaeger \(data\.0\.traceID/,
    );
    assert.throws(() => parseJaegerResponse("<html>"), /unexpected answer from Jaeger/);
  });
});

describe("buildTree", () => {
  test("nests spans by parent, across services, children by start time", () => {
    const roots = buildTree(only());
    assert.deepEqual(names(roots), [["root", [["gcli", [["wsrv", ["sel", "ins", ["send", ["proc"]]]]]]]], "lost"]);
    assert.deepEqual(
      roots.map((r) => [r.service, r.orphan]),
      [
        ["gateway", false],
        ["reader", true],
      ],
    );
  });

  test("a reference cycle does not lose its spans", () => {
    const trace = only();
    const cyclic: JaegerTrace = {
      ...trace,
      spans: trace.spans
        .filter((s) => s.spanID === "sel" || s.spanID === "ins")
        .map((s) => ({
          ...s,
          references: [{ refType: "CHILD_OF", traceID: T, spanID: s.spanID === "sel" ? "ins" : "sel" }],
        })),
    };
    const roots = buildTree(cyclic);
    assert.equal(roots.length, 1);
    assert.deepEqual(names(roots), [["sel", ["ins"]]]);
  });
});

describe("formatTrace", () => {
  const text = formatTrace(only(), { color: false, width: 140 });
  const lines = text.split("\n");
  const lineOf = (name: string) => {
    const index = lines.findIndex((line) => line.includes(` ${name}  `));
    assert.ok(index >= 0, `a line for ${name} in\n${text}`);
    return { line: lines[index] ?? "", attributes: lines[index + 1] ?? "" };
  };

  test("starts with the trace id, its root, and a summary", () => {
    assert.equal(lines[0], `trace ${T}  POST /api/v1/products, redis-EVAL`);
    assert.equal(
      lines[1],
      "started 2023-11-14 22:13:20.000 UTC · 40.0 ms · 8 spans · gateway 2, writer 4, reader 2 · 1 with errors",
    );
  });

  test("one line per span: offset, duration, bar, service, tree, name, kind", () => {
    const root = lineOf("POST /api/v1/products");
    assert.equal(root.line, `   0.0 ms   40.0 ms  ${"█".repeat(24)}  gateway  POST /api/v1/products  server`);
    assert.match(root.attributes, /^ +│ http\.route=\/api\/v1\/products {2}http\.response\.status_code=201$/);
    assert.doesNotMatch(root.attributes, /url\.path/, "only key attributes");

    const insert = lineOf("insert products");
    assert.match(insert.line, /^ {3}4\.0 ms {3}0\.75 ms {2}·{2}█·{21} {2}writer {9}├─ insert products {2}client$/);
    // Whitespace collapsed, cut to the width with an ellipsis.
    assert.match(
      insert.attributes,
      /db\.system\.name=postgresql {2}db\.query\.text=insert into "products" \("id", .*…$/,
    );
    assert.ok(insert.attributes.length <= 140, insert.attributes);
  });

  test("names the gRPC status, shows errors, cache hits and orphans", () => {
    assert.match(lineOf("grpc.writer.v1.WriterService/CreateProduct").attributes, /rpc\.status_code=NOT_FOUND/);
    const process = lineOf("process product-events");
    assert.match(process.line, /reader {12}└─ process product-events {2}consumer {2}ERROR boom$/);
    const lost = lineOf("redis-EVAL");
    assert.match(lost.line, /^ +36\.0 ms +1\.0 ms .* reader {3}redis-EVAL {2}client {2}\(parent gone not in trace\)$/);
    assert.match(lost.attributes, /db\.system\.name=redis {2}cache\.hit=false$/);
  });

  test("draws the tree in start order with guides", () => {
    const tree = lines
      .filter((line) => / (gateway|writer|reader) {2}/.test(line))
      .map((line) => line.slice(line.search(/ (gateway|writer|reader) {2}/) + 10).replace(/ {2}\w+( .*)?$/, ""));
    assert.deepEqual(tree, [
      "POST /api/v1/products",
      "└─ grpc.writer.v1.WriterService/CreateProduct",
      "   └─ grpc.writer.v1.WriterService/CreateProduct",
      "      ├─ select products",
      "      ├─ insert products",
      "      └─ send product-events",
      "         └─ process product-events",
      "redis-EVAL",
    ]);
  });

  test("colours only when asked, and keeps Jaeger's warnings but its clock-skew notes", () => {
    assert.ok(!text.includes(ESC), "no escape codes");
    const trace = only();
    const warned: JaegerTrace = {
      ...trace,
      warnings: ["invalid parent span IDs=gone; skipping clock skew adjustment"],
      spans: trace.spans.map((s) => ({ ...s, warnings: ["clock skew adjustment disabled; not applying delta"] })),
    };
    const colored = formatTrace(warned, { color: true });
    assert.ok(colored.includes(`${ESC}[31m`), "errors in red");
    assert.match(colored, /jaeger: invalid parent span IDs=gone/);
    assert.doesNotMatch(colored, /clock skew adjustment disabled/);
  });

  test("an empty trace says so", () => {
    assert.equal(formatTrace({ ...only(), spans: [] }, { color: false }), `trace ${T}: no spans`);
  });
});

describe("helpers", () => {
  test("formatMicros", () => {
    assert.equal(formatMicros(250), "0.25 ms");
    assert.equal(formatMicros(250, false), "0.3 ms");
    assert.equal(formatMicros(84_952), "85.0 ms");
    assert.equal(formatMicros(12_345_678), "12.35 s");
  });

  test("shorten", () => {
    assert.equal(shorten("  a\n  b  ", 10), "a b");
    assert.equal(shorten("abcdefghij", 5), "abcd…");
  });
});
