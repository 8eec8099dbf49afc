// The log's level: LOG_LEVEL picks the least severe level written, info unless set, and a value
// that is not a level is a configuration error rather than a silently quiet or noisy service.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "./config.ts";
import { createLog, logLevel } from "./log.ts";

function written(level: ReturnType<typeof logLevel>): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  const log = createLog("test", (line) => lines.push(JSON.parse(line) as Record<string, unknown>), level);
  log({ level: "debug", msg: "a call answered OK" });
  log({ msg: "a request" });
  log({ level: "warn", msg: "a dependency is down" });
  return lines;
}

test("at info (the default) debug lines are not written; at debug they are", () => {
  assert.equal(logLevel({}), "info");
  assert.equal(logLevel({ LOG_LEVEL: "" }), "info");
  assert.deepEqual(
    written(logLevel({})).map((line) => line.level),
    ["info", "warn"],
  );
  assert.deepEqual(
    written(logLevel({ LOG_LEVEL: "debug" })).map((line) => [line.level, line.msg]),
    [
      ["debug", "a call answered OK"],
      ["info", "a request"],
      ["warn", "a dependency is down"],
    ],
  );
  assert.deepEqual(
    written(logLevel({ LOG_LEVEL: "warn" })).map((line) => line.level),
    ["warn"],
  );
});

test("a LOG_LEVEL that is not a level is a configuration error naming the levels", () => {
  assert.throws(
    () => logLevel({ LOG_LEVEL: "verbose" }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /LOG_LEVEL=verbose is not one of debug, info, warn, error, fatal/);
      return true;
    },
  );
});
