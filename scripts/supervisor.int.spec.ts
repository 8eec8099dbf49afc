// npm start's supervisor on real child processes: a crashing service is restarted with a growing
// backoff and given up on after the bound; a run that lasted long enough starts a new row.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import { eventually } from "#tests/support/wait.ts";
import { RESTART_POLICY, restartDelay, supervise } from "./supervisor.ts";

const exitAfter = (ms: number, code: number) => () =>
  spawn(process.execPath, ["-e", `setTimeout(() => process.exit(${code}), ${ms})`], { stdio: "ignore" });

describe("restartDelay", () => {
  test("doubles from 1 s, at most 15 s, and gives up at the fifth crash in a row", () => {
    const delays = [1, 2, 3, 4, 5].map((n) => restartDelay(n));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, undefined]);
    assert.equal(restartDelay(4, { ...RESTART_POLICY, maxCrashesInRow: 10 }), 8000);
    assert.equal(restartDelay(6, { ...RESTART_POLICY, maxCrashesInRow: 10 }), 15_000);
  });
});

describe("supervise", () => {
  test("a service that keeps crashing is restarted, then given up on", async () => {
    let starts = 0;
    const said: string[] = [];
    await new Promise<void>((resolve) => {
      supervise({
        name: "crasher",
        start: () => {
          starts += 1;
          return exitAfter(0, 3)();
        },
        say: (line) => said.push(line),
        onGiveUp: resolve,
        policy: { maxCrashesInRow: 3, baseDelayMs: 20, maxDelayMs: 1000, stableAfterMs: 60_000 },
      });
    });
    assert.equal(starts, 3);
    assert.match(said[0] ?? "", /crasher exited \(code 3\); restarting it in 0\.02 s \(crash 1 of at most 3/);
    assert.match(said[1] ?? "", /restarting it in 0\.04 s \(crash 2 of/);
    assert.match(said[2] ?? "", /3 times in a row; giving up on it/);
  });

  test("a run longer than stableAfterMs starts a new row; stop() ends the restarts", async () => {
    let starts = 0;
    const said: string[] = [];
    let gaveUp = false;
    const service = supervise({
      name: "flaky",
      start: () => {
        starts += 1;
        return exitAfter(60, 1)();
      },
      say: (line) => said.push(line),
      onGiveUp: () => {
        gaveUp = true;
      },
      policy: { maxCrashesInRow: 2, baseDelayMs: 10, maxDelayMs: 1000, stableAfterMs: 40 },
    });
    await eventually("four starts", async () => (starts >= 4 ? true : undefined), 10_000);
    await service.stop("SIGTERM");
    assert.equal(gaveUp, false, said.join("\n"));
    assert.ok(
      said.every((line) => /crash 1 of at most 2/.test(line)),
      said.join("\n"),
    );
  });
});
