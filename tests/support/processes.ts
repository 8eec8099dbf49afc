// The three services as separate processes on free ports, for the tests (and the bench) that need
// what only separate processes give: one telemetry identity per service, the bundles the images
// run, signals. Output is kept per line; TEST_LOGS=1 echoes it.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { type ServiceName, serviceArgs } from "#services/launch.ts";
import { eventually, freePort, testEnv } from "./system.ts";

const root = path.resolve(import.meta.dirname, "../..");

export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  /** stdout and stderr, one entry per line. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The end of its output, for an error message. */
  tail(): string;
  /** SIGTERM, then SIGKILL after 15 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts one service; `args` defaults to the source entry with telemetry preloaded. `stdout: "ignore"`
 * drops its log lines (a load test's millions), keeping stderr.
 */
export function spawnService(
  name: ServiceName,
  env: Record<string, string | undefined>,
  args: string[] = serviceArgs(name),
  options: { stdout?: "keep" | "ignore" } = {},
): ServiceProcess {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", options.stdout === "ignore" ? "ignore" : "pipe", "pipe"],
  });
  const lines: string[] = [];
  const echo = process.env.TEST_LOGS === "1";
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    readline.createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      if (echo) console.log(`[${name}] ${line}`);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // "close", not "exit": by then every line the process wrote has been read.
    child.once("close", (code, signal) => resolve({ code, signal })),
  );
  return {
    name,
    child,
    lines,
    exited,
    tail: () => lines.slice(-40).join("\n"),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const { code } = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits until `url` answers 2xx; fails at once if the process exits first. */
export async function waitReady(service: ServiceProcess, url: string, ms = 60_000): Promise<void> {
  await eventually(
    `${service.name} ready at ${url}`,
    async () => {
      if (service.child.exitCode !== null) throw new Error(`${service.name} exited early:\n${service.tail()}`);
      const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
        (response) => response.ok,
        () => false,
      );
      return ok ? true : undefined;
    },
    ms,
  );
}

export interface ProcessSystemEnv {
  env: Record<string, string>;
  /** Base URLs: the gateway's API, and the writer's and reader's health/metrics ports. */
  urls: Record<ServiceName, string>;
  /** Where each service's /metrics is: the gateway's on a port of its own. */
  metricsUrls: Record<ServiceName, string>;
}

/** An isolated test environment (testEnv) whose services listen on free ports known up front. */
export async function processEnv(name: string, overrides: Record<string, string> = {}): Promise<ProcessSystemEnv> {
  const [writerPort, writerHttp, readerPort, readerHttp, gatewayPort, gatewayMetrics] = await Promise.all(
    Array.from({ length: 6 }, () => freePort()),
  );
  const env = testEnv(name, {
    WRITER_PORT: String(writerPort),
    WRITER_HTTP_PORT: String(writerHttp),
    WRITER_ADDRESS: `127.0.0.1:${writerPort}`,
    READER_PORT: String(readerPort),
    READER_HTTP_PORT: String(readerHttp),
    READER_ADDRESS: `127.0.0.1:${readerPort}`,
    GATEWAY_PORT: String(gatewayPort),
    GATEWAY_METRICS_PORT: String(gatewayMetrics),
    ...overrides,
  });
  const urls = {
    gateway: `http://127.0.0.1:${gatewayPort}`,
    writer: `http://127.0.0.1:${writerHttp}`,
    reader: `http://127.0.0.1:${readerHttp}`,
  };
  return { env, urls, metricsUrls: { ...urls, gateway: `http://127.0.0.1:${gatewayMetrics}` } };
}

/**
 * Runs `script` (a path under the repository) with Node and `args`, without blocking this process;
 * resolves with its exit code and its stdout and stderr interleaved. Past `limitMs` it is sent
 * SIGINT (a script stops cleanly on it).
 */
export function runScript(
  script: string,
  args: string[],
  options: { env?: Record<string, string>; limitMs?: number } = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, script), ...args], {
      cwd: root,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    for (const stream of [child.stdout, child.stderr]) {
      stream.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
    }
    const timer = options.limitMs === undefined ? undefined : setTimeout(() => child.kill("SIGINT"), options.limitMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
