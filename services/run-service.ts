// Runs one service as a process: load config, start, stop cleanly on SIGINT/SIGTERM.
import { type Config, ConfigError, loadConfig } from "#shared/platform/config.ts";
import { createLog, type Log } from "#shared/platform/log.ts";

export function runService(
  name: string,
  start: (config: Config, log: Log) => Promise<{ stop(): Promise<void> }>,
): void {
  const log = createLog(name);
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${name}: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  start(config, log).then(
    (service) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log({ msg: `${signal}: stopping` });
        const force = setTimeout(() => {
          log({ level: "error", msg: "did not stop within 10 s; exiting" });
          process.exit(1);
        }, 10_000);
        force.unref();
        service.stop().then(
          () => {
            log({ msg: "stopped" });
            process.exit(0);
          },
          (error: unknown) => {
            log({ level: "error", msg: "error while stopping", err: String(error) });
            process.exit(1);
          },
        );
      };
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGTERM", () => stop("SIGTERM"));
    },
    (error: unknown) => {
      log({
        level: "error",
        msg: `${name} failed to start`,
        err: error instanceof Error ? error.message : String(error),
      });
      process.exit(1);
    },
  );
}
