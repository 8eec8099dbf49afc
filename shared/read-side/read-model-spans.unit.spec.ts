import assert from "node:assert/strict";
import { test } from "node:test";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { traced } from "./read-model-spans.ts";

const exporter = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
const parentTracer = trace.getTracer("test");
const products = { dbName: "readmodel", collectionName: "products" };

/** Runs `work` under a span of its own; returns what it returned and that span's id. */
async function underSpan<T>(work: () => Promise<T>): Promise<{ result: T; parentId: string }> {
  const parent = parentTracer.startSpan("query");
  try {
    const result = await context.with(trace.setSpan(context.active(), parent), work);
    return { result, parentId: parent.spanContext().spanId };
  } finally {
    parent.end();
  }
}

test("inside a trace: a CLIENT span named for the operation and collection, child of the active span", async () => {
  exporter.reset();
  const { result, parentId } = await underSpan(() => traced(products, "find", async () => [1, 2]));
  assert.deepEqual(result, [1, 2]);
  const span = exporter.getFinishedSpans().find((s) => s.name === "find products");
  assert.ok(span, "the operation's span");
  assert.equal(span.kind, SpanKind.CLIENT);
  assert.equal(span.parentSpanContext?.spanId, parentId);
  assert.deepEqual(span.attributes, {
    "db.system.name": "mongodb",
    "db.namespace": "readmodel",
    "db.collection.name": "products",
    "db.operation.name": "find",
  });
  assert.equal(span.status.code, SpanStatusCode.UNSET);
});

test("a failed operation marks its span failed and rejects as it did", async () => {
  exporter.reset();
  const failure = new TypeError("no such collection");
  await assert.rejects(
    underSpan(() => traced(products, "bulkWrite", () => Promise.reject(failure))),
    (error) => error === failure,
  );
  const span = exporter.getFinishedSpans().find((s) => s.name === "bulkWrite products");
  assert.ok(span, "the operation's span");
  assert.equal(span.status.code, SpanStatusCode.ERROR);
  assert.equal(span.attributes["error.type"], "TypeError");
});

test("an operation that throws before it has a promise still ends its span, failed", async () => {
  exporter.reset();
  const failure = new RangeError("bad cursor");
  await assert.rejects(
    underSpan(() =>
      traced(products, "find", () => {
        throw failure;
      }),
    ),
    (error) => error === failure,
  );
  const span = exporter.getFinishedSpans().find((s) => s.name === "find products");
  assert.ok(span, "the operation's span was ended");
  assert.equal(span.status.code, SpanStatusCode.ERROR);
  assert.equal(span.attributes["error.type"], "RangeError");
});

test("outside any trace (bookkeeping on a timer): the operation runs, and no span is made", async () => {
  exporter.reset();
  assert.equal(trace.getActiveSpan(), undefined);
  assert.equal(await traced(products, "find", async () => "done"), "done");
  assert.deepEqual(exporter.getFinishedSpans(), []);
});
