// Metric names as Prometheus expects them from OpenTelemetry (the specification's
// "Prometheus and OpenMetrics Compatibility"): the unit as a suffix (`_seconds`, `_bytes`), so that
// `http.server.request.duration` in seconds is scraped as `http_server_request_duration_seconds`;
// the serializer itself adds `_total` to counters and turns dots into underscores. The exporter
// this project pins adds no unit suffix, hence this step between collecting and serializing.
import { DataPointType, type MetricData, type ResourceMetrics } from "@opentelemetry/sdk-metrics";

/** The units the project's metrics use, by their Prometheus suffix. */
const SUFFIXES: Record<string, string> = { s: "seconds", ms: "milliseconds", By: "bytes" };

/** A metric's name with its unit's suffix (a gauge of unit "1" is a ratio); `{...}` annotations add none. */
export function withUnitSuffix(name: string, unit: string, type: DataPointType): string {
  const suffix = unit === "1" && type === DataPointType.GAUGE ? "ratio" : SUFFIXES[unit];
  if (suffix === undefined || name.endsWith(`.${suffix}`) || name.endsWith(`_${suffix}`)) return name;
  return `${name}_${suffix}`;
}

function renamed(metric: MetricData): MetricData {
  const name = withUnitSuffix(metric.descriptor.name, metric.descriptor.unit, metric.dataPointType);
  return name === metric.descriptor.name ? metric : { ...metric, descriptor: { ...metric.descriptor, name } };
}

/** The collected metrics with their Prometheus names. */
export function withPrometheusNames(collected: ResourceMetrics): ResourceMetrics {
  return {
    ...collected,
    scopeMetrics: collected.scopeMetrics.map((scope) => ({ ...scope, metrics: scope.metrics.map(renamed) })),
  };
}
