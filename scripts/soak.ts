// `npm run soak -- --minutes N`: a long mixed load (commands, reads, searches) on services of its own
// (their own database, read model, topics and cache keys, on the local stack), sampling every second
// each service's RSS, V8 heap and event-loop delay p99, the projection's consumer lag and the outbox
// backlog. At the end: the series, and a verdict: after warm-up, memory and lag stay flat
// (the last quarter at most 10% above the second), and no request failed. Not part of npm test.
import os from "node:os";
import { formatRow, SERVERS, up } from "#infra/stack.ts";
import type { ServiceName } from "#services/launch.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { type Clients, newWindow, type Recorder, startClients } from "#tests/faults/clients.ts";
import { processEnv, type ServiceProcess, spawnService, waitReady } from "#tests/support/processes.ts";
import { cleanUp } from "#tests/support/system.ts";
import { parseCommandLine } from "./command-line.ts";

const HELP = `usage: npm run soak -- [--minutes N] [--clients N] [--every S]

  a mixed load (commands, reads, searches) on services of its own for N minutes (default 10),
  sampling memory, event-loop delay, projection lag and outbox backlog every second, printed every
  S seconds (default 5); prints whether memory and lag stayed flat and nothing failed
  -h, --help    this text`;

const say = (line: string) => console.log(`[soak] ${line}`);
const SERVICES: ServiceName[] = ["writer", "reader", "gateway"];

interface Sample {
  at: number;
  load: number;
  rss: Record<ServiceName, number>;
  heap: Record<ServiceName, number>;
  delayP99: Record<ServiceName, number>;
  consumerLag: number;
  outboxBacklog: number;
}

/** The sum of a metric's series on a /metrics page (0 when it is not there). */
function metric(page: string, name: string): number {
  let sum = 0;
  for (const line of page.split("\n")) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) sum += Number(match[2]);
  }
  return sum;
}

/** Searches and listings beside the clients' commands and reads, until `stopped()`. */
async function searches(base: string, recorder: Recorder, stopped: () => boolean): Promise<void> {
  const paths = [
    "/api/v1/products?q=fault&limit=20",
    "/api/v1/products?sort=-priceCents&limit=20",
    "/api/v1/users?limit=20",
  ];
  for (let i = 0; !stopped(); i++) {
    const status = await fetch(`${base}${paths[i % paths.length]}`, { signal: AbortSignal.timeout(10_000) }).then(
      async (response) => {
        await response.arrayBuffer();
        return String(response.status);
      },
      () => "error",
    );
    recorder.window.statuses.set(status, (recorder.window.statuses.get(status) ?? 0) + 1);
  }
}

const quarterMean = (values: number[], quarter: number) => {
  const size = Math.floor(values.length / 4);
  const part = values.slice(size * quarter, size * (quarter + 1));
  return part.reduce((sum, v) => sum + v, 0) / Math.max(1, part.length);
};

/** Flat: the last quarter's mean at most 10% above the second's (`floor` absorbs tiny values). */
function flat(what: string, values: number[], floor = 0): { ok: boolean; line: string } {
  const second = quarterMean(values, 1);
  const last = quarterMean(values, 3);
  const ok = last <= Math.max(second * 1.1, floor);
  const growth = second > 0 ? `${(((last - second) / second) * 100).toFixed(1)}%` : "n/a";
  return {
    ok,
    line: `${ok ? "flat " : "GROWS"}  ${what}: second quarter ${second.toFixed(1)}, last ${last.toFixed(1)} (${growth})`,
  };
}

async function main(): Promise<number> {
  const { values } = parseCommandLine("soak", HELP, {
    options: {
      minutes: { type: "string", default: "10" },
      clients: { type: "string", default: "4" },
      every: { type: "string", default: "5" },
    },
  });
  const minutes = Number(values.minutes);
  const clientCount = Number(values.clients);
  const every = Number(values.every);
  if (!(minutes > 0) || !Number.isInteger(clientCount) || clientCount < 1 || !(every >= 1)) {
    console.error("soak: --minutes and --every take positive numbers, --clients a whole number");
    return 2;
  }
  const base = loadConfig();
  say("bringing up the local stack (no trace store: traces are off for the soak)");
  await up(
    base,
    SERVERS.map((server) => server.name).filter((name) => name !== "jaeger"),
    (line) => say(`[infra] ${line}`),
    (row) => say(formatRow(row)),
  );
  const { env, urls, metricsUrls } = await processEnv(`soak${Date.now()}`, { OTEL_TRACES_EXPORTER: "none" });
  const config = loadConfig({ ...process.env, ...env });
  const services = new Map<ServiceName, ServiceProcess>();
  let clients: Clients | undefined;
  try {
    for (const name of SERVICES) {
      const service = spawnService(name, { ...env, OTEL_SERVICE_NAME: name }, undefined, { stdout: "ignore" });
      services.set(name, service);
      await waitReady(service, `${urls[name]}/readyz`, 60_000);
    }
    const recorder: Recorder = { window: newWindow("soak"), violations: [] };
    clients = startClients({ gatewayUrl: urls.gateway, count: clientCount, runId: String(Date.now()), recorder });
    let stopped = false;
    const searching = searches(urls.gateway, recorder, () => stopped);
    say(`${clientCount} clients and one searcher for ${minutes} min; a sample every second, a line every ${every} s`);
    const samples: Sample[] = [];
    const end = Date.now() + minutes * 60_000;
    const started = Date.now();
    // A sample every second: the V8 heap saw-tooths between collections, and the means of a
    // quarter of the run are steady only over many samples. One line every `every` seconds.
    let lastPrinted = 0;
    while (Date.now() < end) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const pages = Object.fromEntries(
        await Promise.all(
          SERVICES.map(async (name) => [
            name,
            await fetch(`${metricsUrls[name]}/metrics`).then(
              (r) => r.text(),
              () => "",
            ),
          ]),
        ),
      ) as Record<ServiceName, string>;
      const per = (name: string) =>
        Object.fromEntries(SERVICES.map((s) => [s, metric(pages[s], name)])) as Record<ServiceName, number>;
      const sample: Sample = {
        at: (Date.now() - started) / 1000,
        load: os.loadavg()[0] ?? 0,
        rss: per("process_memory_usage_bytes"),
        heap: per("v8js_memory_heap_used_bytes"),
        delayP99: per("nodejs_eventloop_delay_p99_seconds"),
        consumerLag: metric(pages.reader, "messaging_kafka_consumer_lag"),
        outboxBacklog: metric(pages.writer, "cqrs_outbox_backlog"),
      };
      samples.push(sample);
      if (sample.at - lastPrinted < every) continue;
      lastPrinted = sample.at;
      const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0).padStart(4);
      say(
        `${sample.at.toFixed(0).padStart(5)} s  load ${sample.load.toFixed(2)}  RSS MB w/r/g ${SERVICES.map((s) => mb(sample.rss[s])).join(" ")}  heap MB ${SERVICES.map((s) => mb(sample.heap[s])).join(" ")}  loop p99 ms ${SERVICES.map((s) => (sample.delayP99[s] * 1000).toFixed(1)).join(" ")}  consumer lag ${sample.consumerLag}  outbox ${sample.outboxBacklog}`,
      );
    }
    stopped = true;
    await clients.stop();
    clients = undefined;
    await searching;

    const statuses = [...recorder.window.statuses].sort(([a], [b]) => a.localeCompare(b));
    // The load sends only valid requests: a 400 is a failure as much as a 5xx.
    const failed = statuses.filter(([status]) => status === "error" || status === "400" || status.startsWith("5"));
    const checks = [
      ...SERVICES.flatMap((s) => [
        flat(
          `${s} RSS MB`,
          samples.map((x) => x.rss[s] / 2 ** 20),
        ),
        flat(
          `${s} heap MB`,
          samples.map((x) => x.heap[s] / 2 ** 20),
        ),
      ]),
      // A lag of a few messages is noise at any size: under 50 counts as flat.
      flat(
        "consumer lag (messages)",
        samples.map((x) => x.consumerLag),
        50,
      ),
      flat(
        "outbox backlog (rows)",
        samples.map((x) => x.outboxBacklog),
        50,
      ),
    ];
    console.log("");
    console.log(`answers: ${statuses.map(([status, count]) => `${status}: ${count}`).join(", ")}`);
    console.log(`commands: ${recorder.window.sent} sent, ${recorder.window.acknowledged} acknowledged`);
    for (const check of checks) console.log(check.line);
    const ok = checks.every((c) => c.ok) && failed.length === 0 && recorder.violations.length === 0;
    for (const violation of recorder.violations.slice(0, 20)) console.log(`violation: ${violation}`);
    console.log(
      ok
        ? `verdict: flat and clean over ${minutes} min (load average ${samples.at(-1)?.load.toFixed(2)} at the end)`
        : `verdict: NOT flat or not clean (${failed.map(([s, n]) => `${n}× ${s}`).join(", ") || "see above"})`,
    );
    return ok ? 0 : 1;
  } finally {
    await clients?.stop();
    for (const service of services.values()) await service.stop();
    await cleanUp(config).catch((error: unknown) => say(`clean-up: ${String(error)}`));
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
