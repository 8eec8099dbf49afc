// OpenTelemetry for one service process: traces over OTLP/HTTP, metrics for a Prometheus scrape of
// the service's own /metrics, W3C trace context, and the maintained instrumentations a service's
// own preload brings (the reader's mongodb and redis); HTTP and gRPC spans are the project's own,
// made where requests and calls are handled. Started by
// the service's preload (preload-<service>.ts) before any application module, because
// instrumentations patch modules as they are loaded. OTEL_SDK_DISABLED=true switches all of it off;
// the standard OTEL_* variables (sampler, endpoint, service name, resource attributes) are honoured.
//
// Nothing here names a database client or its instrumentation: this module is loaded by every
// service, and the gateway and the writer must not load the reader's instrumentations.
import { metrics } from "@opentelemetry/api";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { type Instrumentation, registerInstrumentations } from "@opentelemetry/instrumentation";
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { register } from "import-in-the-middle/register-hooks.mjs";
import { loadConfig } from "../config.ts";
import { startRuntimeMetrics } from "./runtime-metrics.ts";

export interface Telemetry {
  prometheus: PrometheusExporter;
  shutdown(): Promise<void>;
}

let current: Telemetry | undefined;

/** The running telemetry of this process, if it was started (by preload.ts). */
export const telemetry = (): Telemetry | undefined => current;

/** What one service instruments with maintained instrumentations (HTTP and gRPC spans are our own). */
export interface ServiceInstrumentation {
  /** Packages whose ES module imports import-in-the-middle must intercept for these instrumentations. */
  hooked: readonly string[];
  /** Created only once the module hook is registered, so that they patch through it. */
  create(): Instrumentation[];
}

/**
 * What a service's preload does: registers the ES module hook for exactly the packages the service's
 * instrumentations patch, then starts telemetry under the service's name (OTEL_SERVICE_NAME wins).
 */
export function preloadTelemetry(
  service: string,
  extra: ServiceInstrumentation = { hooked: [], create: () => [] },
): Telemetry | undefined {
  // With telemetry off, a hook would only wrap modules for instrumentations that never patch them;
  // a service with no instrumentation to patch needs none either.
  if (process.env.OTEL_SDK_DISABLED === "true") return undefined;
  if (extra.hooked.length > 0) register({ include: [...extra.hooked] });
  return startTelemetry(process.env.OTEL_SERVICE_NAME ?? service, extra.create);
}

export function startTelemetry(
  serviceName: string,
  extraInstrumentations: () => Instrumentation[] = () => [],
): Telemetry | undefined {
  if (process.env.OTEL_SDK_DISABLED === "true" || current) return current;
  const config = loadConfig();
  // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (envDetector) over the SDK's defaults; the
  // service's own name unless one of them gives another.
  const fromEnv = detectResources({ detectors: [envDetector] });
  const name = fromEnv.attributes[ATTR_SERVICE_NAME] ?? serviceName;
  const resource = defaultResource()
    .merge(fromEnv)
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: name }));

  // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT itself; without one, the local stack's Jaeger.
  const endpointSet = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporterConfig = endpointSet ? {} : { url: `${config.otlpEndpoint}/v1/traces` };
  // The standard protocol variable picks the encoding; protobuf (the OTLP default) costs the
  // service and the receiver less CPU per span than JSON.
  const protocol =
    process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? process.env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf";
  const exporter =
    protocol === "http/json" ? new OTLPTraceExporter(exporterConfig) : new OTLPProtoTraceExporter(exporterConfig);
  const tracerProvider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  tracerProvider.register();

  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ resource, readers: [prometheus] });
  metrics.setGlobalMeterProvider(meterProvider);

  // HTTP server spans are the gateway's own (services/gateway/gateway.ts), gRPC spans the
  // transport's (shared/transport/grpc-spans.ts): both far cheaper than the instrumentations.
  const instrumentations = extraInstrumentations();
  if (instrumentations.length > 0) registerInstrumentations({ tracerProvider, meterProvider, instrumentations });
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
