// Which exporters the standard OpenTelemetry variables select, checked before anything starts:
// OTEL_TRACES_EXPORTER (otlp, console, none), OTEL_METRICS_EXPORTER (prometheus, the service's own
// /metrics; otlp, console, none), and the OTLP protocols. An unsupported value is a configuration
// error: the service refuses to start with one line naming the variable and what it accepts.
import { ConfigError } from "../config.ts";

export const TRACES_EXPORTERS = ["otlp", "console", "none"] as const;
export const METRICS_EXPORTERS = ["prometheus", "otlp", "console", "none"] as const;
export const OTLP_PROTOCOLS = ["http/protobuf", "http/json"] as const;

export type TracesExporter = (typeof TRACES_EXPORTERS)[number];
export type MetricsExporter = (typeof METRICS_EXPORTERS)[number];
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export interface ExporterChoice {
  /** Empty for `none`. */
  traces: Exclude<TracesExporter, "none">[];
  metrics: Exclude<MetricsExporter, "none">[];
  tracesProtocol: OtlpProtocol;
  metricsProtocol: OtlpProtocol;
}

type Env = Record<string, string | undefined>;

/** A comma-separated list of names from `allowed` (the variable's default when unset). */
function names<T extends string>(env: Env, variable: string, allowed: readonly T[], fallback: T): Exclude<T, "none">[] {
  const raw = env[variable]?.trim();
  const listed: string[] = raw ? raw.split(",").map((name) => name.trim()) : [fallback];
  for (const name of listed) {
    if (!(allowed as readonly string[]).includes(name)) {
      throw new ConfigError(`${variable}=${raw} is not supported; use one or more of ${allowed.join(", ")}`);
    }
  }
  if (listed.includes("none") && listed.length > 1) {
    throw new ConfigError(`${variable}=${raw}: none cannot be combined with another exporter`);
  }
  return (listed.includes("none") ? [] : [...new Set(listed)]) as Exclude<T, "none">[];
}

/** The signal's own protocol variable, else the general one, else http/protobuf (OTLP's default). */
function protocol(env: Env, signalVariable: string): OtlpProtocol {
  const [variable, value] = [signalVariable, "OTEL_EXPORTER_OTLP_PROTOCOL"]
    .map((name) => [name, env[name]?.trim()] as const)
    .find(([, set]) => set) ?? ["", "http/protobuf"];
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(value ?? "")) {
    throw new ConfigError(`${variable}=${value} is not supported; use ${OTLP_PROTOCOLS.join(" or ")}`);
  }
  return value as OtlpProtocol;
}

export function chooseExporters(env: Env): ExporterChoice {
  return {
    traces: names(env, "OTEL_TRACES_EXPORTER", TRACES_EXPORTERS, "otlp"),
    metrics: names(env, "OTEL_METRICS_EXPORTER", METRICS_EXPORTERS, "prometheus"),
    tracesProtocol: protocol(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
    metricsProtocol: protocol(env, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"),
  };
}
