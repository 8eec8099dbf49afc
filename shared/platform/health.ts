// /healthz (the process answers) and /readyz (its dependencies answer) for every service. Once the
// process is stopping (SIGTERM), /readyz answers 503 at once, so a balancer sends nothing new to it.
import { Hono } from "hono";

export type ReadinessCheck = () => Promise<void>;

let stopping = false;

/** The process stops taking new work: from now on /readyz answers 503 "stopping". */
export function markStopping(): void {
  stopping = true;
}

export function healthRoutes(ready: ReadinessCheck): Hono {
  return new Hono()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", async (c) => {
      if (stopping) {
        c.header("Retry-After", "1");
        return c.json({ status: "stopping" }, 503);
      }
      try {
        await ready();
        return c.json({ status: "ready" });
      } catch (error) {
        c.header("Retry-After", "1");
        return c.json({ status: "not ready", reason: error instanceof Error ? error.message : String(error) }, 503);
      }
    });
}
