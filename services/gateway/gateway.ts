// The gateway's composition root: the only public entry point. It mounts every function's HTTP
// routes with a gRPC call to the writer or reader in place of the handler, and maps every error to
// problem+json in one place. It holds no state.
import type * as grpc from "@grpc/grpc-js";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { allFunctions } from "../../functions/registry.ts";
import type { Config } from "../../shared/config.ts";
import { DomainError } from "../../shared/errors.ts";
import { connectClient } from "../../shared/grpc.ts";
import { healthRoutes, serveHttp } from "../../shared/health.ts";
import type { Log } from "../../shared/log.ts";
import { errorHandler, problemResponse } from "../../shared/problem.ts";

const MAX_BODY_BYTES = 1024 * 1024;

function channelReady(client: grpc.Client, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + ms, (error) => (error ? reject(error) : resolve()));
  });
}

export function gatewayApp(clients: { writer: grpc.Client; reader: grpc.Client }, deadlineMs: number, log: Log): Hono {
  const app = new Hono();
  app.onError(errorHandler(log));
  app.notFound((c) =>
    problemResponse({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: `no route for ${c.req.method} ${c.req.path}`,
    }),
  );
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () =>
        problemResponse({
          type: "about:blank",
          title: "Payload Too Large",
          status: 413,
          detail: `bodies are at most ${MAX_BODY_BYTES} bytes`,
        }),
    }),
  );
  app.route(
    "/",
    healthRoutes(async () => {
      await Promise.all([channelReady(clients.writer, 1000), channelReady(clients.reader, 1000)]).catch(() => {
        throw new DomainError("unavailable", "writer or reader not reachable");
      });
    }),
  );
  for (const fn of allFunctions) app.route("/", fn.routes(clients[fn.tier], deadlineMs));
  return app;
}

export interface Gateway {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function startGateway(config: Config, log: Log): Promise<Gateway> {
  const clients = { writer: connectClient(config.writer.address), reader: connectClient(config.reader.address) };
  const app = gatewayApp(clients, config.gateway.grpcDeadlineMs, log);
  const http = await serveHttp(app, config.gateway.host, config.gateway.port);
  const url = `http://${config.gateway.host}:${http.port}`;
  log({ msg: "gateway listening", url });
  return {
    port: http.port,
    url,
    async stop() {
      await http.close();
      clients.writer.close();
      clients.reader.close();
    },
  };
}
