// /readyz: ready while the check passes, 503 when it fails, and 503 "stopping" once the process
// stops taking work, whatever the check says.
import assert from "node:assert/strict";
import { test } from "node:test";
import { healthRoutes, markStopping } from "./health.ts";

test("readyz follows the check, then answers 503 stopping once the process stops", async () => {
  let healthy = true;
  const app = healthRoutes(async () => {
    if (!healthy) throw new Error("database down");
  });
  assert.equal((await app.request("/readyz")).status, 200);
  healthy = false;
  const down = await app.request("/readyz");
  assert.equal(down.status, 503);
  assert.deepEqual(await down.json(), { status: "not ready", reason: "database down" });
  healthy = true;
  markStopping();
  const stopping = await app.request("/readyz");
  assert.equal(stopping.status, 503);
  assert.equal(stopping.headers.get("retry-after"), "1");
  assert.deepEqual(await stopping.json(), { status: "stopping" });
  assert.equal((await app.request("/healthz")).status, 200, "the process still answers");
});
