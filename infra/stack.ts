// The local stack as a whole: bring servers up in dependency order (in parallel where they are
// independent), report their state, stop them. Used by `npm run infra`, `npm start` and `npm test`.
import fs from "node:fs";
import path from "node:path";
import type { Config } from "#shared/platform/config.ts";
import { ferretdbServer } from "./ferretdb/ferretdb.ts";
import { jaegerServer } from "./jaeger/jaeger.ts";
import { kafkaServer } from "./kafka/kafka.ts";
import { acquireLock } from "./lock.mjs";
import { postgresServer, readPostgresServer } from "./postgres/postgres.ts";
import { alive, commandLine, InfraError, logTail, portInUse, runningPid, stopProcess } from "./process.ts";
import { redisServer } from "./redis/redis.ts";
import { type Server, type ServerContext, serverContext } from "./server.ts";

export const SERVERS: Server[] = [
  postgresServer,
  readPostgresServer,
  redisServer,
  kafkaServer,
  ferretdbServer,
  jaegerServer,
];

const READY_TIMEOUT_MS = 120_000;

export interface Row {
  name: string;
  version: string;
  address: string;
  pid?: number;
  state: string;
  /** How long its start took (until it answered). */
  seconds?: number;
  /** How long its build, download or install took (near 0 when cached). */
  provisionSeconds?: number;
}

function select(names: string[]): Server[] {
  for (const name of names) {
    if (!SERVERS.some((server) => server.name === name)) {
      throw new InfraError(`unknown server '${name}'; known: ${SERVERS.map((s) => s.name).join(", ")}`);
    }
  }
  if (names.length === 0) return SERVERS;
  const wanted = new Set<string>();
  const add = (name: string) => {
    wanted.add(name);
    for (const dep of SERVERS.find((s) => s.name === name)?.dependsOn ?? []) add(dep);
  };
  names.forEach(add);
  return SERVERS.filter((server) => wanted.has(server.name));
}

async function answers(server: Server, ctx: ServerContext): Promise<boolean> {
  try {
    await server.ping(ctx);
    return true;
  } catch {
    return false;
  }
}

async function waitReady(server: Server, ctx: ServerContext, pid: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (await answers(server, ctx)) return;
    // The pid is our own child: a server may rewrite its command line (redis does) while starting.
    if (!alive(pid)) {
      throw new InfraError(`${server.name} exited while starting; the end of ${ctx.logFile}:\n${logTail(ctx.logFile)}`);
    }
    if (Date.now() > deadline) {
      throw new InfraError(`${server.name} did not answer within ${READY_TIMEOUT_MS / 1000} s; see ${ctx.logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts `server` once `ready` (its dependencies) and `provisioned` (its build or download) are done. */
async function bringUp(
  server: Server,
  ctx: ServerContext,
  ready: Promise<unknown>,
  provisioned: Promise<number>,
): Promise<Row> {
  const base = { name: server.name, address: server.address(ctx.config) };
  const [, provisionSeconds] = await Promise.all([ready, provisioned]);
  // The row's time is the start's own; the build's or download's is provisionSeconds.
  const started = Date.now();
  let pid = runningPid(ctx.pidFile, server.marker(ctx));
  let state = "already up";
  const build = server.build?.(ctx);
  if (pid !== undefined && build !== undefined && !commandLine(pid)?.includes(build)) {
    ctx.say(`${server.name}: running an older build than ${build}; restarting it`);
    await stopProcess(pid, server.stopGraceMs, server.stopSignal ?? "SIGTERM");
    fs.rmSync(ctx.pidFile, { force: true });
    pid = undefined;
  }
  if (pid === undefined) {
    if (fs.existsSync(ctx.pidFile)) {
      ctx.say(`${server.name}: stale pid file ${ctx.pidFile} (its process is gone); starting it again`);
      fs.rmSync(ctx.pidFile);
    }
    for (const { port, env } of server.ports(ctx.config)) {
      if (await portInUse(port)) {
        throw new InfraError(`port ${port} (${server.name}) is in use by another process; set ${env} to move it`);
      }
    }
    fs.mkdirSync(path.dirname(ctx.pidFile), { recursive: true });
    pid = await server.start(ctx);
    state = "started";
  }
  await waitReady(server, ctx, pid);
  await server.afterReady?.(ctx);
  return {
    ...base,
    version: server.version(ctx),
    pid,
    state,
    seconds: (Date.now() - started) / 1000,
    provisionSeconds,
  };
}

/** Provisions `server` (builds, downloads, installs); resolves with the seconds it took. */
async function provision(server: Server, ctx: ServerContext): Promise<number> {
  const started = Date.now();
  await server.provision(ctx);
  return (Date.now() - started) / 1000;
}

export interface UpOptions {
  /** Builds run at the lowest CPU priority (nice 19): what is up already keeps the cores. */
  lowPriority?: boolean;
}

export async function up(
  config: Config,
  names: string[],
  say: (line: string) => void,
  onReady: (row: Row) => void = () => {},
  options: UpOptions = {},
): Promise<Row[]> {
  const release = await acquireLock(path.join(config.stateDir, "infra.lock"), { what: "infra lock", onWait: say });
  try {
    const servers = select(names);
    const done = new Map<string, Promise<Row>>();
    for (const server of servers) {
      const ctx = { ...serverContext(config, server.name, say), lowPriority: options.lowPriority === true };
      const deps = server.dependsOn.map((dep) => done.get(dep)).filter((p) => p !== undefined);
      // Every build starts at once, not after its server's dependencies: FerretDB's build, which reads
      // need, runs while PostgreSQL starts.
      const provisioned = provision(server, ctx);
      done.set(
        server.name,
        bringUp(server, ctx, Promise.all(deps), provisioned).then((row) => {
          onReady(row);
          return row;
        }),
      );
    }
    const results = await Promise.allSettled(done.values());
    const failure = results.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
    return results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  } finally {
    release();
  }
}

export async function status(config: Config, names: string[] = []): Promise<Row[]> {
  return Promise.all(
    select(names).map(async (server) => {
      const ctx = serverContext(config, server.name, () => {});
      const pid = runningPid(ctx.pidFile, server.marker(ctx));
      const base = { name: server.name, version: server.version(ctx), address: server.address(config) };
      if (pid === undefined) {
        const stale = fs.existsSync(ctx.pidFile) ? "down (stale pid file)" : "down";
        return { ...base, state: stale };
      }
      return { ...base, pid, state: (await answers(server, ctx)) ? "up" : "not answering" };
    }),
  );
}

/** Stops the servers; the caller holds the infra lock. */
async function stop(config: Config, names: string[], say: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  // Dependents first: FerretDB before the PostgreSQL it stands on.
  for (const server of [...select(names)].reverse()) {
    const ctx = serverContext(config, server.name, say);
    const pid = runningPid(ctx.pidFile, server.marker(ctx));
    const base = { name: server.name, version: server.version(ctx), address: server.address(config) };
    if (pid === undefined) {
      fs.rmSync(ctx.pidFile, { force: true });
      rows.push({ ...base, state: "was down" });
      continue;
    }
    const started = Date.now();
    const signal = server.stopSignal ?? "SIGTERM";
    const how = await stopProcess(pid, server.stopGraceMs, signal);
    fs.rmSync(ctx.pidFile, { force: true });
    const state = how === "killed" ? `killed (no exit ${server.stopGraceMs / 1000} s after ${signal})` : "stopped";
    rows.push({ ...base, pid, state, seconds: (Date.now() - started) / 1000 });
  }
  return rows;
}

export async function down(config: Config, names: string[], say: (line: string) => void): Promise<Row[]> {
  const release = await acquireLock(path.join(config.stateDir, "infra.lock"), { what: "infra lock", onWait: say });
  try {
    return await stop(config, names, say);
  } finally {
    release();
  }
}

export async function reset(config: Config, say: (line: string) => void): Promise<Row[]> {
  // The wipe holds the lock too, so a concurrent `up` cannot start on data being deleted.
  const release = await acquireLock(path.join(config.stateDir, "infra.lock"), { what: "infra lock", onWait: say });
  try {
    const rows = await stop(config, [], say);
    for (const server of SERVERS) {
      const elsewhere = server.dataDir?.(serverContext(config, server.name, say));
      if (elsewhere) fs.rmSync(elsewhere, { recursive: true, force: true });
    }
    for (const folder of ["data", "run", "logs"]) {
      fs.rmSync(path.join(config.stateDir, folder), { recursive: true, force: true });
    }
    return rows;
  } finally {
    release();
  }
}

/** The folders of the user cache this checkout's servers use, built or not: what `prune` keeps. */
export function cacheFolders(config: Config): string[] {
  return SERVERS.flatMap((server) => server.cacheDirs?.(serverContext(config, server.name, () => {})) ?? []);
}

export function logFile(config: Config, name: string): string {
  const server = SERVERS.find((s) => s.name === name);
  if (!server) throw new InfraError(`unknown server '${name}'`);
  return serverContext(config, server.name, () => {}).logFile;
}

export function formatRow(row: Row): string {
  const pid = row.pid === undefined ? "-" : String(row.pid);
  const time = row.seconds === undefined ? "" : `${row.seconds.toFixed(1)} s`;
  const width = Math.max(...SERVERS.map((server) => server.name.length));
  return `${row.name.padEnd(width)} ${row.version.padEnd(8)} ${row.state.padEnd(22)} pid ${pid.padEnd(8)} ${time.padEnd(8)} ${row.address}`;
}
