// Starting and stopping the baseline programs (baseline-server.ts) as processes of their own.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { eventually, freePort } from "#tests/support/wait.ts";
import type { BaselineKind } from "./baseline-server.ts";

const SERVER = path.join(import.meta.dirname, "baseline-server.ts");

export interface Baseline {
  kind: BaselineKind;
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts one baseline with the system's environment (same servers, same data) and waits until it listens. */
export async function startBaseline(
  kind: BaselineKind,
  env: Record<string, string>,
  extra: Record<string, string> = {},
): Promise<Baseline> {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER, kind, String(port)], {
    env: { ...process.env, ...env, ...extra, OTEL_SDK_DISABLED: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on("line", (line) => lines.push(line));
  }
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    await eventually(
      `baseline ${kind} to listen`,
      async () => {
        if (child.exitCode !== null) throw new Error(`baseline ${kind} exited: ${lines.slice(-10).join("\n")}`);
        return lines.some((line) => line.includes("listening")) ? true : undefined;
      },
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { kind, url: `http://127.0.0.1:${port}`, port, child, stop };
}
