// SIGTERM loses no telemetry: a writer and a gateway as processes (as `npm start` runs them) whose
// span batches would wait ten minutes, so only the shutdown's flush can export them. A create is
// answered, both get SIGTERM at once, both exit 0, and the create's spans from both are in Jaeger.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fetchTrace, type JaegerTrace, serviceOf, spanKind } from "#scripts/trace.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { adminHeaders } from "../support/auth.ts";
import { processEnv, type ServiceProcess, spawnService, waitReady } from "../support/processes.ts";
import { cleanUp, eventually, runId } from "../support/system.ts";

const queryUrl = loadConfig().jaeger.queryUrl;
let env: Record<string, string> = {};
let gatewayUrl = "";
let writer: ServiceProcess | undefined;
let gateway: ServiceProcess | undefined;

before(async () => {
  const system = await processEnv("shutdown");
  env = system.env;
  gatewayUrl = system.urls.gateway;
  const telemetry = (name: string) => ({
    ...env,
    OTEL_SERVICE_NAME: name,
    // Far longer than the test: a span reaches Jaeger only if the shutdown flushes it.
    OTEL_BSP_SCHEDULE_DELAY: "600000",
    OTEL_RESOURCE_ATTRIBUTES: `deployment.environment.name=shutdown-test,service.version=${runId}`,
  });
  writer = spawnService("writer", telemetry("writer"));
  gateway = spawnService("gateway", telemetry("gateway"));
  await waitReady(writer, `${system.urls.writer}/readyz`, 30_000);
  await waitReady(gateway, `${gatewayUrl}/healthz`, 30_000);
});

after(async () => {
  await Promise.all([writer?.stop(), gateway?.stop()]);
  await cleanUp(loadConfig({ ...process.env, ...env }));
});

test("SIGTERM right after a create: both exit 0 and the create's spans reach the trace store", async () => {
  const response = await fetch(`${gatewayUrl}/api/v1/products`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await adminHeaders()) },
    body: JSON.stringify({ sku: `shutdown-${runId}-${Date.now()}`, name: "Flushed", priceCents: 100, currency: "EUR" }),
  });
  assert.equal(response.status, 201, await response.text());
  const traceId = response.headers.get("x-trace-id") ?? "";
  assert.match(traceId, /^[0-9a-f]{32}$/);
  const stopped = [gateway, writer].map((service) => {
    service?.child.kill("SIGTERM");
    return service?.exited;
  });
  const exits = await Promise.all(stopped);
  assert.deepEqual(
    exits.map((exit) => exit?.code),
    [0, 0],
    `gateway:\n${gateway?.tail()}\nwriter:\n${writer?.tail()}`,
  );
  const complete = (trace: JaegerTrace) => {
    const has = (service: string, kind: string) =>
      trace.spans.some((span) => serviceOf(trace, span) === service && spanKind(span) === kind);
    return has("gateway", "server") && has("gateway", "client") && has("writer", "server") && has("writer", "client");
  };
  const trace = await eventually(
    "the create's spans from the gateway and the writer in Jaeger",
    async () => {
      const found = await fetchTrace(queryUrl, traceId);
      return found && complete(found) ? found : undefined;
    },
    20_000,
  );
  assert.ok(trace.spans.length >= 4);
});
