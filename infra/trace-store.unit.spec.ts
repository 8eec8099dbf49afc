// When `npm start` needs the local trace store: only when traces go over OTLP to its own port.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadConfig } from "#shared/platform/config.ts";
import { noLocalTraces } from "./trace-store.ts";

const config = loadConfig({ JAEGER_OTLP_HTTP_PORT: "24318" });

test("traces go to the local store by default, or when the endpoint is its port", () => {
  assert.equal(noLocalTraces(config, {}), undefined);
  assert.equal(noLocalTraces(config, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:24318" }), undefined);
  assert.equal(
    noLocalTraces(config, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://localhost:24318/v1/traces" }),
    undefined,
  );
  assert.equal(noLocalTraces(config, { OTEL_TRACES_EXPORTER: "otlp,console" }), undefined);
});

test("no store is needed with telemetry off, without OTLP traces, or with another endpoint", () => {
  assert.match(noLocalTraces(config, { OTEL_SDK_DISABLED: "true" }) ?? "", /OTEL_SDK_DISABLED/);
  assert.match(noLocalTraces(config, { OTEL_TRACES_EXPORTER: "none" }) ?? "", /OTEL_TRACES_EXPORTER=none/);
  assert.match(noLocalTraces(config, { OTEL_TRACES_EXPORTER: "console" }) ?? "", /OTEL_TRACES_EXPORTER=console/);
  assert.match(
    noLocalTraces(config, { OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example:4318" }) ?? "",
    /collector\.example/,
  );
});
