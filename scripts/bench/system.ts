// The system under test, as `npm start` runs it: writer, reader and gateway as processes (telemetry
// preloaded, or off), on free ports, pointed at one data set. Also what the bench reads off the
// processes: memory, CPU seconds (by /proc, the services' and the servers' alike) and the reader's
// projection log.
import fs from "node:fs";
import { type ServiceName, serviceArgs } from "#services/launch.ts";
import { type Config, loadConfig } from "#shared/platform/config.ts";
import { processEnv, type ServiceProcess, spawnService, waitReady } from "#tests/support/processes.ts";
import type { MemorySample } from "./results.ts";

export interface BenchSystem {
  name: string;
  config: Config;
  env: Record<string, string>;
  urls: Record<ServiceName, string>;
  /** Where each service's /metrics is (the gateway's on a port of its own). */
  metricsUrls: Record<ServiceName, string>;
  services: ServiceProcess[];
  /** Service name -> pid. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

export interface SystemOptions {
  telemetry: boolean;
  /** Environment beyond the isolated defaults (data set databases, cache TTL...). */
  env?: Record<string, string>;
  /** Extra node flags for every service (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Which services to start (default all three, reader first so it joins before events flow). */
  only?: ServiceName[];
}

/** Starts the services of one system and waits until each is ready. */
export async function startSystem(name: string, options: SystemOptions): Promise<BenchSystem> {
  const { env, urls, metricsUrls } = await processEnv(name, {
    // The services' own default safety-net poll, not the tests' faster one.
    OUTBOX_POLL_MS: "2000",
    ...options.env,
  });
  const config = loadConfig({ ...process.env, ...env });
  const telemetry = { OTEL_SDK_DISABLED: options.telemetry ? "false" : "true" };
  const names = options.only ?? (["writer", "reader", "gateway"] as const);
  const services: ServiceProcess[] = [];
  const stop = async () => {
    for (const service of [...services].reverse()) await service.stop();
  };
  const start = async (service: (typeof names)[number]) => {
    const args = [...(options.nodeFlags ?? []), ...serviceArgs(service)];
    const started = spawnService(
      service,
      {
        ...env,
        ...telemetry,
        // bench-* keeps these traces apart from npm start's in the trace store.
        ...(options.telemetry ? { OTEL_SERVICE_NAME: `bench-${service}` } : {}),
      },
      args,
      // The gateway writes a line per request, millions under load: not kept. The writer's and the
      // reader's are few (per batch, per lease change): the lag scenario reads the reader's projection
      // lines, and a scenario that fails quotes their warnings.
      { stdout: service === "gateway" ? "ignore" : "keep" },
    );
    services.push(started);
    await waitReady(started, `${urls[service]}/readyz`);
  };
  try {
    // The tiers first, side by side; the gateway, whose readiness needs them, last.
    await Promise.all(names.filter((service) => service !== "gateway").map(start));
    if (names.includes("gateway")) await start("gateway");
  } catch (error) {
    await stop();
    throw error;
  }
  const pids: Record<string, number> = {};
  for (const service of services) if (service.child.pid) pids[service.name] = service.child.pid;
  return { name, config, env, urls, metricsUrls, services, pids, stop };
}

const MiB = 1024 * 1024;

/** Resident memory of a process, from /proc. */
export function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return (kb * 1024) / MiB;
}

/** V8 heap in use, from the service's own /metrics (undefined with telemetry off). */
async function heapMiB(url: string): Promise<number | undefined> {
  const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })
    .then((response) => (response.ok ? response.text() : ""))
    .catch(() => "");
  const match = /^v8js_memory_heap_used(?:_bytes)?(?:\{[^}]*\})?\s+([\d.e+]+)/m.exec(text);
  return match?.[1] ? Number(match[1]) / MiB : undefined;
}

export async function memory(system: BenchSystem, when: string): Promise<MemorySample[]> {
  const samples: MemorySample[] = [];
  for (const service of system.services) {
    const pid = service.child.pid;
    if (pid === undefined || service.child.exitCode !== null) continue;
    samples.push({
      service: `${service.name} (${system.name})`,
      when,
      rssMiB: rssMiB(pid),
      heapUsedMiB: await heapMiB(system.metricsUrls[service.name]),
    });
  }
  return samples;
}

// --- CPU accounting: which process spent the cores ----------------------------------------------

const TICKS_PER_SECOND = 100;

/** The CPU seconds of every process now: its own, and its reaped children's. */
function processTable(): Map<number, { ppid: number; seconds: number }> {
  const table = new Map<number, { ppid: number; seconds: number }>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command (which may contain spaces) start after the last ")".
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
      table.set(Number(entry), { ppid: Number(fields[1]), seconds: ticks / TICKS_PER_SECOND });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** CPU seconds by name, each counting the process and its descendants (PostgreSQL's backends). */
export function cpuSnapshot(pids: Record<string, number>): Record<string, number> {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const total = (pid: number): number =>
    (table.get(pid)?.seconds ?? 0) + (children.get(pid) ?? []).reduce((sum, child) => sum + total(child), 0);
  const out = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, total(pid)]));
  const own = process.cpuUsage();
  out["bench (load)"] = (own.user + own.system) / 1e6;
  return out;
}

/** CPU milliseconds per request by process between two snapshots. */
export function cpuPerRequest(
  before: Record<string, number>,
  after: Record<string, number>,
  requests: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, seconds] of Object.entries(after)) {
    out[name] = requests > 0 ? ((seconds - (before[name] ?? 0)) * 1000) / requests : 0;
  }
  return out;
}
