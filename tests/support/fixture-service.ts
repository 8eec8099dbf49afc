// A service for the lifecycle tests, run by services/run-service.ts like the real ones: FIXTURE_MODE
// says how it misbehaves ("throw": an uncaught exception with a cause, "reject": an unhandled
// rejection, "hang": a stop that never ends; anything else: a service that stops at once).
import { runService } from "#services/run-service.ts";

const mode = process.env.FIXTURE_MODE;

runService("fixture", async (_config, log) => {
  if (mode === "throw") {
    setTimeout(() => {
      throw new Error("the fixture broke", { cause: new Error("the root cause") });
    }, 10);
  }
  if (mode === "reject") {
    setTimeout(() => void Promise.reject(new TypeError("nobody awaited this")), 10);
  }
  const keepAlive = setInterval(() => {}, 60_000);
  log({ msg: "fixture listening" });
  return {
    stop: () =>
      mode === "hang" ? new Promise<void>(() => {}) : Promise.resolve().then(() => clearInterval(keepAlive)),
  };
});
