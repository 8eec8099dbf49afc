// How a service process ends (services/run-service.ts), on a real process: a crash is one JSON log
// line with the error's stack and causes and a non-zero exit; SIGTERM stops it with exit 0, or with
// exit 1 once SHUTDOWN_TIMEOUT_MS has passed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { test } from "node:test";
import { eventually } from "../support/system.ts";

const fixture = path.resolve(import.meta.dirname, "../support/fixture-service.ts");

function runFixture(env: Record<string, string>) {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, OTEL_SDK_DISABLED: "true", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  const other: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on("line", (line) => {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        other.push(line);
      }
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const listening = () =>
    eventually("the fixture to start", async () => lines.find((l) => l.msg === "fixture listening"), 20_000);
  return { child, lines, other, exited, listening };
}

interface LoggedError {
  type?: string;
  message?: string;
  stack?: string;
  cause?: LoggedError;
}

test("an uncaught exception is one fatal line with its stack and cause, and exit 1", async () => {
  const run = runFixture({ FIXTURE_MODE: "throw" });
  assert.equal(await run.exited, 1);
  const fatal = run.lines.filter((l) => l.level === "fatal");
  assert.equal(fatal.length, 1, JSON.stringify(run.lines));
  assert.match(String(fatal[0]?.msg), /uncaught exception/);
  const err = fatal[0]?.err as LoggedError;
  assert.equal(err.type, "Error");
  assert.equal(err.message, "the fixture broke");
  assert.match(err.stack ?? "", /fixture-service\.ts/);
  assert.equal(err.cause?.message, "the root cause");
  assert.deepEqual(run.other, [], "nothing but JSON lines");
});

test("an unhandled rejection is one fatal line too, and exit 1", async () => {
  const run = runFixture({ FIXTURE_MODE: "reject" });
  assert.equal(await run.exited, 1);
  const fatal = run.lines.filter((l) => l.level === "fatal");
  assert.equal(fatal.length, 1, JSON.stringify(run.lines));
  assert.match(String(fatal[0]?.msg), /unhandled rejection/);
  assert.equal((fatal[0]?.err as LoggedError | undefined)?.type, "TypeError");
});

test("SIGTERM: stopped, exit 0", async () => {
  const run = runFixture({});
  await run.listening();
  run.child.kill("SIGTERM");
  assert.equal(await run.exited, 0);
  assert.ok(
    run.lines.some((l) => l.msg === "stopped"),
    JSON.stringify(run.lines),
  );
});

test("SIGTERM with a stop that never ends: exit 1 once SHUTDOWN_TIMEOUT_MS has passed", async () => {
  const run = runFixture({ FIXTURE_MODE: "hang", SHUTDOWN_TIMEOUT_MS: "300" });
  await run.listening();
  run.child.kill("SIGTERM");
  assert.equal(await run.exited, 1);
  assert.ok(
    run.lines.some((l) => l.level === "error" && /did not stop within 0\.3 s/.test(String(l.msg))),
    JSON.stringify(run.lines),
  );
});
