// Serving a Hono app over HTTP with the Node adapter: the gateway's API, and every service's health
// and metrics port.
import { serve } from "@hono/node-server";
import type { Hono } from "hono";

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `app` on host:port (0 picks a free port) and resolves once it listens. */
export function serveHttp(app: Hono, host: string, port: number): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
      resolve({
        port: info.port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
    server.once("error", reject);
  });
}
