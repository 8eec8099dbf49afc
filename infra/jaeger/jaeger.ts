// Jaeger v2 as the local trace store: OTLP receiver plus query API, built from the Go module proxy
// (its go.mod has replace directives, so `go install pkg@version` cannot build it; this folder's own
// go.mod names it as a tool). In-memory storage: traces do not survive a restart.

import path from "node:path";
import { ensureGoBuild, goBinary, goMarker, goRequirement } from "../go-build.ts";
import { startDetached } from "../process.ts";
import type { Server, ServerContext } from "../server.ts";

const VERSION = "1.76.0";
const here = import.meta.dirname;
const binary = (ctx: ServerContext) => goBinary(ctx, "jaeger", VERSION, here);

export const jaegerServer: Server = {
  name: "jaeger",
  version: () => VERSION,
  dependsOn: [],
  stopGraceMs: 10_000,
  ports: (config) => [
    { port: config.jaeger.otlpHttpPort, env: "JAEGER_OTLP_HTTP_PORT" },
    { port: config.jaeger.otlpGrpcPort, env: "JAEGER_OTLP_GRPC_PORT" },
    { port: config.jaeger.queryPort, env: "JAEGER_QUERY_PORT" },
    { port: config.jaeger.queryGrpcPort, env: "JAEGER_QUERY_GRPC_PORT" },
    { port: config.jaeger.healthPort, env: "JAEGER_HEALTH_PORT" },
  ],
  address: (config) =>
    `otlp http://127.0.0.1:${config.jaeger.otlpHttpPort}, query http://127.0.0.1:${config.jaeger.queryPort}`,
  marker: (ctx) => goMarker(ctx, "jaeger", VERSION),
  build: binary,
  requirements: (ctx) => [goRequirement(ctx, "jaeger", VERSION, here)],
  cacheDirs: (ctx) => [path.dirname(binary(ctx))],

  async provision(ctx) {
    await ensureGoBuild(ctx, {
      name: "jaeger",
      version: VERSION,
      moduleDir: here,
      pkg: "github.com/jaegertracing/jaeger/cmd/jaeger",
      expect: "about 4 minutes",
    });
  },

  async start(ctx) {
    const { jaeger } = ctx.config;
    return startDetached({
      command: binary(ctx),
      args: ["--config", path.join(here, "config.yaml")],
      env: {
        ...process.env,
        JAEGER_OTLP_HTTP_PORT: String(jaeger.otlpHttpPort),
        JAEGER_OTLP_GRPC_PORT: String(jaeger.otlpGrpcPort),
        JAEGER_QUERY_PORT: String(jaeger.queryPort),
        JAEGER_QUERY_GRPC_PORT: String(jaeger.queryGrpcPort),
        JAEGER_HEALTH_PORT: String(jaeger.healthPort),
        // Jaeger would trace itself to the default OTLP port, which nothing serves here.
        OTEL_TRACES_EXPORTER: "none",
        OTEL_SDK_DISABLED: "true",
      },
      pidFile: ctx.pidFile,
      logFile: ctx.logFile,
    });
  },

  async ping(ctx) {
    const response = await fetch(`http://127.0.0.1:${ctx.config.jaeger.healthPort}/status`, {
      signal: AbortSignal.timeout(1000),
    });
    if (!response.ok) throw new Error(`health check answered ${response.status}`);
  },
};
