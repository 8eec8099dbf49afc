// The standard exporter variables: their defaults, lists, and one clear error for what is unsupported.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../config.ts";
import { chooseExporters } from "./exporters.ts";

test("defaults: OTLP traces over http/protobuf, metrics on the service's own /metrics", () => {
  assert.deepEqual(chooseExporters({}), {
    traces: ["otlp"],
    metrics: ["prometheus"],
    tracesProtocol: "http/protobuf",
    metricsProtocol: "http/protobuf",
  });
});

test("lists, none, and the signal's own protocol over the general one", () => {
  const choice = chooseExporters({
    OTEL_TRACES_EXPORTER: "otlp, console",
    OTEL_METRICS_EXPORTER: "none",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
  });
  assert.deepEqual(choice.traces, ["otlp", "console"]);
  assert.deepEqual(choice.metrics, []);
  assert.equal(choice.tracesProtocol, "http/protobuf");
  assert.equal(choice.metricsProtocol, "http/json");
  assert.deepEqual(chooseExporters({ OTEL_METRICS_EXPORTER: "prometheus,otlp" }).metrics, ["prometheus", "otlp"]);
});

test("an unsupported exporter or protocol is a configuration error naming the variable and the choices", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { OTEL_TRACES_EXPORTER: "zipkin" },
      /^OTEL_TRACES_EXPORTER=zipkin is not supported; use one or more of otlp, console, none$/,
    ],
    [{ OTEL_METRICS_EXPORTER: "prometheus,statsd" }, /^OTEL_METRICS_EXPORTER=prometheus,statsd is not supported/],
    [{ OTEL_TRACES_EXPORTER: "none,otlp" }, /none cannot be combined/],
    [
      { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      /^OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported; use http\/protobuf or http\/json$/,
    ],
    [{ OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: "json" }, /^OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=json is not supported/],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => chooseExporters(env),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
    );
  }
});
