// /healthz (the process answers) and /readyz (its dependencies answer) for every service.
import { serve } from "@hono/node-server";
import { Hono } from "hono";

export type ReadinessCheck = () => Promise<void>;

export function healthRoutes(ready: ReadinessCheck): Hono {
  return new Hono()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", async (c) => {
      try {
        await ready();
        return c.json({ status: "ready" });
      } catch (error) {
        c.header("Retry-After", "1");
        return c.json({ status: "not ready", reason: error instanceof Error ? error.message : String(error) }, 503);
      }
    });
}

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
