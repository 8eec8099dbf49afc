// Whether the local trace store (Jaeger) has anything to receive: `npm start` brings it up after
// the services, and not at all when no trace would reach it.
import type { Config } from "#shared/platform/config.ts";
import { chooseExporters } from "#shared/platform/telemetry/exporters.ts";

/** Why no trace goes to the local trace store (so it need not run), or undefined when traces do. */
export function noLocalTraces(config: Config, env: NodeJS.ProcessEnv): string | undefined {
  if (env.OTEL_SDK_DISABLED === "true") return "OTEL_SDK_DISABLED=true";
  // An unsupported value stops the services with its own line; the store is not the problem then.
  const traces = (() => {
    try {
      return chooseExporters(env).traces;
    } catch {
      return [];
    }
  })();
  if (!traces.includes("otlp")) return `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER ?? ""}`;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const local = [`http://127.0.0.1:${config.jaeger.otlpHttpPort}`, `http://localhost:${config.jaeger.otlpHttpPort}`];
  if (endpoint !== undefined && !local.some((url) => endpoint.startsWith(url)))
    return `the OTLP endpoint is ${endpoint}`;
  return undefined;
}
