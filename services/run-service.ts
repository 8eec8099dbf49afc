// Runs one service as a process: load config, start, and stop cleanly on SIGINT/SIGTERM: /readyz
// turns 503 at once, the service drains what it has in flight (HTTP and gRPC calls, consumed
// messages, the relay and the producer) and closes its pools, then telemetry flushes its last spans
// and metrics, all within SHUTDOWN_TIMEOUT_MS (10 s by default), and the process exits 0.
// An uncaught exception or unhandled rejection is logged as one line, with its stack and causes,
// and the process exits 1 (npm start restarts it). Once running, it gives a burst's memory back
// when it is idle again (memory-trim.ts).
import { type Config, ConfigError, loadConfig } from "#shared/platform/config.ts";
import { markStopping } from "#shared/platform/health.ts";
import { createLog, type Log } from "#shared/platform/log.ts";
import { startMemoryTrim } from "#shared/platform/memory-trim.ts";
import { telemetry } from "#shared/platform/telemetry/setup.ts";

function exitOnCrash(log: Log): void {
  const crash = (what: string) => (error: unknown) => {
    log({ level: "fatal", msg: `${what}; exiting`, err: error });
    process.exit(1);
  };
  process.on("uncaughtException", crash("uncaught exception"));
  process.on("unhandledRejection", crash("unhandled rejection"));
}

export function runService(
  name: string,
  start: (config: Config, log: Log) => Promise<{ stop(): Promise<void> }>,
): void {
  let log: Log;
  let config: Config;
  try {
    log = createLog(name);
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${name}: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  exitOnCrash(log);
  const boundMs = config.shutdownTimeoutMs;
  start(config, log).then(
    (service) => {
      startMemoryTrim({ checkMs: 5000, idleBelow: 0.05, growthMiB: 32, log });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        markStopping();
        const began = performance.now();
        log({ msg: `${signal}: stopping (within ${boundMs / 1000} s)` });
        const force = setTimeout(() => {
          log({ level: "error", msg: `did not stop within ${boundMs / 1000} s; exiting` });
          process.exit(1);
        }, boundMs);
        force.unref();
        service
          .stop()
          .then(() => telemetry()?.shutdown())
          .then(
            () => {
              log({ msg: "stopped", duration_ms: Math.round(performance.now() - began) });
              process.exit(0);
            },
            (error: unknown) => {
              log({ level: "error", msg: "error while stopping", err: error });
              process.exit(1);
            },
          );
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
    },
    (error: unknown) => {
      // A configuration error found while starting (e.g. a malformed address) is one line too.
      if (error instanceof ConfigError) {
        console.error(`${name}: ${error.message}`);
        process.exit(2);
      }
      log({ level: "error", msg: `${name} failed to start`, err: error });
      process.exit(1);
    },
  );
}
