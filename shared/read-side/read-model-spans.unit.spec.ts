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

/**
 * Runs `run` as `operation` under a span, expects it to reject with exactly `failure`, and returns
 * the operation's span: it must have ended, marked failed with the failure's class.
 */
async function failedSpan(operation: string, failure: Error, run: () => Promise<unknown>) {
  exporter.reset();
  await assert.rejects(
    underSpan(() => traced(products, operation, run)),
    (error) => error === failure,
  );
  const span = exporter.getFinishedSpans().find((s) => s.name === `${operation} products`);
  assert.ok(span, "the operation's span was ended");
  assert.equal(span.status.code, SpanStatusCode.ERROR);
  assert.equal(span.attributes["error.type"], failure.constructor.name);
}

test("a failed operation marks its span failed and rejects as it did", async () => {
  const failure = new TypeError("no such collection");
  await failedSpan("bulkWrite", failure, () => Promise.reject(failure));
});

test("an operation that throws before it has a promise still ends its span, failed", async () => {
  const failure = new RangeError("bad cursor");
  await failedSpan("find", failure, () => {
    throw failure;
  });
});

test("outside any trace (bookkeeping on a timer): the operation runs, and no span is made", async () => {
  exporter.reset();
  assert.equal(trace.getActiveSpan(), undefined);
  assert.equal(await traced(products, "find", async () => "done"), "done");
  assert.deepEqual(exporter.getFinishedSpans(), []);
});
