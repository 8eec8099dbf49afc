// The application's metrics, named after the OpenTelemetry semantic conventions where one exists
// (http.server.request.duration, rpc.server.call.duration, messaging.*), cqrs.* otherwise. Without a
// started SDK these are no-ops. Each service exposes them on /metrics (metricsRoutes) under their
// Prometheus names: unit suffixes and `_total` (prometheus-names.ts), e.g.
// http_server_request_duration_seconds, cqrs_projection_events_total.
import { metrics } from "@opentelemetry/api";
import { PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { Hono } from "hono";
import { withPrometheusNames } from "./prometheus-names.ts";
import { telemetry } from "./setup.ts";

const meter = () => metrics.getMeter("cqrs-ts");

/** Seconds: fine buckets below 100 ms, where these services live. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let instruments: ReturnType<typeof create> | undefined;

function create() {
  const m = meter();
  const seconds = (name: string, description: string) =>
    m.createHistogram(name, { description, unit: "s", advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
  return {
    httpServerDuration: seconds("http.server.request.duration", "Duration of HTTP server requests"),
    rpcServerDuration: seconds("rpc.server.call.duration", "Duration of gRPC calls served"),
    rpcClientDuration: seconds("rpc.client.call.duration", "Duration of gRPC calls made"),
    projectionLag: seconds("cqrs.projection.lag", "From an event's commit to its projection being applied"),
    projectedEvents: m.createCounter("cqrs.projection.events", { description: "Events consumed, by outcome" }),
    cacheRequests: m.createCounter("cqrs.cache.requests", { description: "Cache lookups, by cache.hit" }),
  };
}

/** Created on first use, so that the meter provider preload.ts registers is the one used. */
export function appMetrics(): ReturnType<typeof create> {
  instruments ??= create();
  return instruments;
}

export { meter };

/** GET /metrics in Prometheus text format (empty when telemetry is off). */
export function metricsRoutes(): Hono {
  const serializer = new PrometheusSerializer();
  return new Hono().get("/metrics", async (c) => {
    const running = telemetry();
    if (!running) return c.text("# telemetry is off (OTEL_SDK_DISABLED=true or no preload)\n");
    if (!running.prometheus) return c.text("# metrics go elsewhere: OTEL_METRICS_EXPORTER has no prometheus\n");
    const { resourceMetrics } = await running.prometheus.collect();
    c.header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(serializer.serialize(withPrometheusNames(resourceMetrics)));
  });
}
