// /healthz (the process answers) and /readyz (its dependencies answer) for every service.
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
