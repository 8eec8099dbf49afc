// `npm start`: brings up the local stack, then runs the writer, the reader and the gateway as child
// processes with their output prefixed, and says where they are once each answers /readyz.
// Ctrl-C stops the three services cleanly; the local stack keeps running (`npm run infra -- down`).
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { formatRow, up } from "#infra/stack.ts";
import { serviceArgs } from "#services/launch.ts";
import { ConfigError, loadConfig } from "#shared/platform/config.ts";
import { parseCommandLine } from "./command-line.ts";

const root = path.resolve(import.meta.dirname, "..");
const say = (line: string) => console.log(`[start] ${line}`);
const SERVICES = ["writer", "reader", "gateway"] as const;
const READY_TIMEOUT_MS = 120_000;

const USAGE = `usage: npm start    bring up the local stack, then run the writer, the reader and the gateway until Ctrl-C
                    (the stack keeps running: npm run infra -- down stops it)`;

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before it was ready`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not ready after ${READY_TIMEOUT_MS / 1000} s (${url})`);
}

async function main(): Promise<number> {
  parseCommandLine("start", USAGE, {});
  const started = Date.now();
  const config = loadConfig();
  say("bringing up the local stack");
  await up(
    config,
    [],
    (line) => console.log(`[infra] ${line}`),
    (row) => console.log(formatRow(row)),
  );

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const stopAll = async (signal: NodeJS.Signals) => {
    stopping = true;
    await Promise.all(
      [...children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill(signal);
          }),
      ),
    );
  };
  // Ctrl-C reaches the children through the terminal; a SIGTERM to us alone is passed on.
  process.on("SIGINT", () => void stopAll("SIGINT").then(() => process.exit(0)));
  process.on("SIGTERM", () => void stopAll("SIGTERM").then(() => process.exit(0)));

  const readyUrls = {
    writer: `http://127.0.0.1:${config.writer.httpPort}/readyz`,
    reader: `http://127.0.0.1:${config.reader.httpPort}/readyz`,
    gateway: `http://127.0.0.1:${config.gateway.port}/readyz`,
  };
  for (const name of SERVICES) {
    const child = spawn(process.execPath, serviceArgs(name), {
      cwd: root,
      env: { ...process.env, OTEL_SERVICE_NAME: process.env.OTEL_SERVICE_NAME ?? name },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.set(name, child);
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on("line", (line) => console.log(`[${name}] ${line}`));
    }
    child.on("exit", (code, signal) => {
      if (stopping) return;
      say(`${name} exited (${signal ?? `code ${code}`}); stopping the others`);
      void stopAll("SIGTERM").then(() => process.exit(1));
    });
    await waitReady(readyUrls[name], child);
    say(`${name} ready (${readyUrls[name].replace("/readyz", "")})`);
  }
  say(
    `serving in ${((Date.now() - started) / 1000).toFixed(1)} s: gateway at http://${config.gateway.host}:${config.gateway.port}`,
  );
  say(`try: curl -s http://${config.gateway.host}:${config.gateway.port}/api/v1/products`);
  say("Ctrl-C stops the services; `npm run infra -- down` stops the local stack");
  return new Promise<number>(() => {});
}

main().catch((error: unknown) => {
  console.error(`start: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
