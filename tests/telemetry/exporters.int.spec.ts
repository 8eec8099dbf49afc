// A telemetry setting a service does not support stops it before it starts, with one line that
// names the variable and what it accepts (configuration errors fail fast), for every service.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { processEnv, spawnService } from "../support/processes.ts";

describe("unsupported telemetry settings", () => {
  const cases = [
    {
      service: "gateway",
      env: { OTEL_TRACES_EXPORTER: "zipkin" },
      line: /^gateway: OTEL_TRACES_EXPORTER=zipkin is not supported; use one or more of otlp, console, none$/,
    },
    {
      service: "writer",
      env: { OTEL_METRICS_EXPORTER: "statsd" },
      line: /^writer: OTEL_METRICS_EXPORTER=statsd is not supported/,
    },
    {
      service: "reader",
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      line: /^reader: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported; use http\/protobuf or http\/json$/,
    },
  ] as const;

  for (const { service, env, line } of cases) {
    test(`${service} with ${Object.entries(env)[0]?.join("=")} exits 2 with one line`, async () => {
      const { env: base } = await processEnv(`exporters_${service}`);
      const started = spawnService(service, { ...base, OTEL_SDK_DISABLED: "false", ...env });
      const { code } = await started.exited;
      assert.equal(code, 2, started.tail());
      assert.equal(started.lines.length, 1, `one line, not a stack trace:\n${started.tail()}`);
      assert.match(started.lines[0] ?? "", line);
    });
  }
});
