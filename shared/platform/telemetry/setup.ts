// OpenTelemetry for one service process: traces over OTLP/HTTP, metrics for a Prometheus scrape of
// the service's own /metrics, and W3C trace context. Every span is the project's own, made where
// the work is done (HTTP, gRPC, PostgreSQL, Kafka, MongoDB, Redis): no maintained instrumentation
// patches a module; each we replaced cost its service a tenth to a third of its throughput or CPU
// on its hot path (docs/architecture.md, "Naming conventions", spans). Started by the service's
// preload (preload-<service>.ts) before any application module, so that the first span has a
// provider.
// OTEL_SDK_DISABLED=true switches all of it off; the standard OTEL_* variables (sampler, endpoint,
// service name, resource attributes, exporters and protocols: exporters.ts) are honoured, and an
// unsupported value stops the service with one line.
import { metrics } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as OTLPProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  ConsoleMetricExporter,
  MeterProvider,
  type MetricReader,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { ConfigError, loadConfig } from "../config.ts";
import { chooseExporters } from "./exporters.ts";
import { startRuntimeMetrics } from "./runtime-metrics.ts";

export interface Telemetry {
  /** The reader behind the service's /metrics; none when OTEL_METRICS_EXPORTER leaves prometheus out. */
  prometheus: PrometheusExporter | undefined;
  shutdown(): Promise<void>;
}

let current: Telemetry | undefined;

/** The running telemetry of this process, if it was started (by preload.ts). */
export const telemetry = (): Telemetry | undefined => current;

/** What a service's preload does: starts telemetry under the service's name (OTEL_SERVICE_NAME wins). */
export function preloadTelemetry(service: string): Telemetry | undefined {
  if (process.env.OTEL_SDK_DISABLED === "true") return undefined;
  try {
    return startTelemetry(process.env.OTEL_SERVICE_NAME ?? service);
  } catch (error) {
    // Configuration errors fail fast, as one line, like the service's own (run-service.ts).
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${service}: ${error.message}`);
    process.exit(2);
  }
}

export function startTelemetry(serviceName: string): Telemetry | undefined {
  if (process.env.OTEL_SDK_DISABLED === "true" || current) return current;
  const config = loadConfig();
  const choice = chooseExporters(process.env);
  // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (envDetector) over the SDK's defaults; the
  // service's own name unless one of them gives another.
  const fromEnv = detectResources({ detectors: [envDetector] });
  const name = fromEnv.attributes[ATTR_SERVICE_NAME] ?? serviceName;
  const resource = defaultResource()
    .merge(fromEnv)
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: name }));

  // The exporters read OTEL_EXPORTER_OTLP_(<SIGNAL>_)ENDPOINT themselves; without one, the local
  // stack's Jaeger (which takes traces only). Protobuf, the OTLP default, costs the service and the
  // receiver less CPU per span than JSON.
  const otlpUrl = (signalEndpoint: string, path: string) =>
    (process.env[signalEndpoint] ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT)
      ? {}
      : { url: `${config.otlpEndpoint}${path}` };
  const spanExporter = (name: "otlp" | "console"): SpanExporter => {
    if (name === "console") return new ConsoleSpanExporter();
    const options = otlpUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/v1/traces");
    return choice.tracesProtocol === "http/json" ? new OTLPTraceExporter(options) : new OTLPProtoTraceExporter(options);
  };
  const tracerProvider = new NodeTracerProvider({
    resource,
    spanProcessors: choice.traces.map((name) => new BatchSpanProcessor(spanExporter(name))),
  });
  tracerProvider.register();

  const prometheus = choice.metrics.includes("prometheus")
    ? new PrometheusExporter({ preventServerStart: true })
    : undefined;
  const periodic = (name: "otlp" | "console"): MetricReader => {
    const options = otlpUrl("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "/v1/metrics");
    const exporter =
      name === "console"
        ? new ConsoleMetricExporter()
        : choice.metricsProtocol === "http/json"
          ? new OTLPMetricExporter(options)
          : new OTLPProtoMetricExporter(options);
    return new PeriodicExportingMetricReader({ exporter });
  };
  const readers = choice.metrics.map((name) => (name === "prometheus" ? prometheus : periodic(name)));
  const meterProvider = new MeterProvider({ resource, readers: readers.filter((r) => r !== undefined) });
  metrics.setGlobalMeterProvider(meterProvider);

  const stopRuntime = startRuntimeMetrics();

  current = {
    prometheus,
    async shutdown() {
      stopRuntime();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
  return current;
}
