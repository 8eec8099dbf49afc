// Keeps one service process running for `npm start`: a process that exits on its own (a crash) is
// started again after a backoff that doubles with each crash in a row (1, 2, 4, 8 s, at most 15 s),
// and after MAX crashes in a row the supervisor gives up. A run that lasted `stableAfterMs` resets
// the count: the crash is then a new one, not one more of a loop.
import type { ChildProcess } from "node:child_process";

export interface RestartPolicy {
  /** Crashes in a row after which the service is given up on. */
  maxCrashesInRow: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A run at least this long ends a row of crashes. */
  stableAfterMs: number;
}

export const RESTART_POLICY: RestartPolicy = {
  maxCrashesInRow: 5,
  baseDelayMs: 1000,
  maxDelayMs: 15_000,
  stableAfterMs: 30_000,
};

/** How long to wait before starting again after crash number `crashesInRow` of a row, or undefined: give up. */
export function restartDelay(crashesInRow: number, policy: RestartPolicy = RESTART_POLICY): number | undefined {
  if (crashesInRow >= policy.maxCrashesInRow) return undefined;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (crashesInRow - 1));
}

export interface Supervised {
  /** The running process (the latest one after a restart). */
  current(): ChildProcess;
  /** Whether the supervisor gave up on the service. */
  gaveUp(): boolean;
  /** Stops the service for good: `signal`, and no restart. Resolves once it has exited. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

export interface SuperviseOptions {
  name: string;
  start: () => ChildProcess;
  say: (line: string) => void;
  /** Called once, when the supervisor gives up. */
  onGiveUp: () => void;
  policy?: RestartPolicy;
}

const describeExit = (code: number | null, signal: NodeJS.Signals | null) => signal ?? `code ${code}`;

export function supervise({ name, start, say, onGiveUp, policy = RESTART_POLICY }: SuperviseOptions): Supervised {
  let child = start();
  let startedAt = Date.now();
  let crashesInRow = 0;
  let stopping = false;
  let given = false;
  let pending: NodeJS.Timeout | undefined;

  const watch = (process: ChildProcess) => {
    process.once("exit", (code, signal) => {
      if (stopping) return;
      crashesInRow = Date.now() - startedAt >= policy.stableAfterMs ? 1 : crashesInRow + 1;
      const delay = restartDelay(crashesInRow, policy);
      if (delay === undefined) {
        given = true;
        say(`${name} exited (${describeExit(code, signal)}), ${crashesInRow} times in a row; giving up on it`);
        onGiveUp();
        return;
      }
      say(
        `${name} exited (${describeExit(code, signal)}); restarting it in ${delay / 1000} s (crash ${crashesInRow} of at most ${policy.maxCrashesInRow} in a row)`,
      );
      pending = setTimeout(() => {
        pending = undefined;
        if (stopping) return;
        child = start();
        startedAt = Date.now();
        watch(child);
      }, delay);
    });
  };
  watch(child);

  return {
    current: () => child,
    gaveUp: () => given,
    stop(signal) {
      stopping = true;
      clearTimeout(pending);
      return new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill(signal);
      });
    },
  };
}
