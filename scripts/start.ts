// `npm start`: brings up the local stack, then runs the writer, the reader and the gateway as child
// processes with their output prefixed, and says where they are once each answers /readyz.
// Ctrl-C stops the three services cleanly; the local stack keeps running (`npm run infra -- down`).
// A service that crashes is started again with a backoff (supervisor.ts), and given up on after
// five crashes in a row.
//
// Nothing a request needs waits for what it does not: the services start as soon as PostgreSQL,
// Kafka, Redis and FerretDB answer; the trace store (Jaeger) comes up after them, its build at the
// lowest CPU priority, and traces flow to it from then on (one line says so; spans before that are
// dropped, nothing else is affected). It is not started at all when no trace goes to it. At the
// end, where the time went: the bootstrap's steps, each server's build and start, the services.
import { spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { formatRow, type Row, SERVERS, up } from "#infra/stack.ts";
import { noLocalTraces } from "#infra/trace-store.ts";
import { serviceArgs } from "#services/launch.ts";
import { ConfigError, loadConfig } from "#shared/platform/config.ts";
import { parseCommandLine } from "./command-line.ts";
import { type Supervised, supervise } from "./supervisor.ts";

const root = path.resolve(import.meta.dirname, "..");
const say = (line: string) => console.log(`[start] ${line}`);
const SERVICES = ["writer", "reader", "gateway"] as const;
const READY_TIMEOUT_MS = 120_000;

const USAGE = `usage: npm start    bring up the local stack, then run the writer, the reader and the gateway until Ctrl-C
                    (the stack keeps running: npm run infra -- down stops it)`;

async function waitReady(url: string, service: Supervised): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (service.gaveUp()) throw new Error("it kept exiting before it was ready");
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not ready after ${READY_TIMEOUT_MS / 1000} s (${url})`);
}

const TRACE_STORE = "jaeger";

/** Where the time went, one line a step: the bootstrap's, each server's build and start, the services. */
/** The bootstrap's steps and their seconds (packages, Node, npm ci), before this script started. */
function bootstrapSteps(): { step: string; seconds: number }[] {
  try {
    return JSON.parse(process.env.CQRS_BOOTSTRAP_STEPS ?? "[]") as { step: string; seconds: number }[];
  } catch {
    return [];
  }
}

function breakdown(steps: { step: string; seconds: number }[], rows: Row[], services: number, total: number): string[] {
  const line = (what: string, seconds: number) => `  ${what.padEnd(34)} ${seconds.toFixed(1).padStart(6)} s`;
  return [
    `where the ${total.toFixed(1)} s to the first request went (the bootstrap's steps, then this script's):`,
    ...steps.map((s) => line(s.step, s.seconds)),
    ...rows.flatMap((row) => [
      line(`${row.name}: build or download`, row.provisionSeconds ?? 0),
      line(`${row.name}: start (${row.state})`, row.seconds ?? 0),
    ]),
    line("writer, reader, gateway", services),
  ];
}

async function main(): Promise<number> {
  parseCommandLine("start", USAGE, {});
  const started = Date.now();
  const config = loadConfig();
  const withoutTraceStore = noLocalTraces(config, process.env);
  const first = SERVERS.map((server) => server.name).filter((name) => name !== TRACE_STORE);
  say(`bringing up the local stack: ${first.join(", ")}, then the services, then ${TRACE_STORE}`);
  const rows = await up(
    config,
    first,
    (line) => console.log(`[infra] ${line}`),
    (row) => console.log(formatRow(row)),
  );
  const servicesStarted = Date.now();

  const children = new Map<string, Supervised>();
  const stopAll = async (signal: NodeJS.Signals) => {
    await Promise.all([...children.values()].map((service) => service.stop(signal)));
  };
  // Ctrl-C reaches the children through the terminal; a SIGTERM to us alone is passed on.
  process.on("SIGINT", () => void stopAll("SIGINT").then(() => process.exit(0)));
  process.on("SIGTERM", () => void stopAll("SIGTERM").then(() => process.exit(0)));

  const readyUrls = {
    writer: `http://127.0.0.1:${config.writer.httpPort}/readyz`,
    reader: `http://127.0.0.1:${config.reader.httpPort}/readyz`,
    gateway: `http://127.0.0.1:${config.gateway.port}/readyz`,
  };
  const run = async (name: (typeof SERVICES)[number]) => {
    const start = () => {
      const child = spawn(process.execPath, serviceArgs(name), {
        cwd: root,
        env: { ...process.env, OTEL_SERVICE_NAME: process.env.OTEL_SERVICE_NAME ?? name },
        stdio: ["ignore", "pipe", "pipe"],
      });
      for (const stream of [child.stdout, child.stderr]) {
        readline.createInterface({ input: stream }).on("line", (line) => console.log(`[${name}] ${line}`));
      }
      return child;
    };
    const service = supervise({
      name,
      start,
      say,
      onGiveUp: () => void stopAll("SIGTERM").then(() => process.exit(1)),
    });
    children.set(name, service);
    await waitReady(readyUrls[name], service);
    say(`${name} ready (${readyUrls[name].replace("/readyz", "")})`);
  };
  // The tiers side by side; the gateway, whose readiness needs them, last. A service that never
  // became ready takes the others down with it: nothing is left running behind a failed start.
  try {
    await Promise.all([run("writer"), run("reader")]);
    await run("gateway");
  } catch (error) {
    await stopAll("SIGTERM");
    throw error;
  }
  const steps = bootstrapSteps();
  const total = (Date.now() - started) / 1000 + steps.reduce((sum, step) => sum + step.seconds, 0);
  say(`serving: gateway at http://${config.gateway.host}:${config.gateway.port}`);
  for (const line of breakdown(steps, rows, (Date.now() - servicesStarted) / 1000, total)) say(line);
  say(`try: curl -s http://${config.gateway.host}:${config.gateway.port}/api/v1/products`);
  say("Ctrl-C stops the services; `npm run infra -- down` stops the local stack");

  if (withoutTraceStore !== undefined) {
    say(`no local trace store: ${withoutTraceStore}, so no trace goes to ${TRACE_STORE}`);
  } else {
    up(
      config,
      [TRACE_STORE],
      (line) => console.log(`[infra] ${line}`),
      (row) => console.log(formatRow(row)),
      { lowPriority: true },
    ).then(
      ([row]) =>
        say(
          `trace store up: traces flow to ${TRACE_STORE} from now on (${config.jaeger.queryUrl}; build ${(row?.provisionSeconds ?? 0).toFixed(1)} s, start ${(row?.seconds ?? 0).toFixed(1)} s)`,
        ),
      (error: unknown) =>
        say(
          `the trace store did not come up (${error instanceof Error ? error.message : String(error)}); the services run on without traces`,
        ),
    );
  }
  return new Promise<number>(() => {});
}

main().catch((error: unknown) => {
  console.error(`start: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
