// `npm run infra -- doctor`: whether this machine can run the local stack, one line per check. The
// ports the servers and the services listen on (free, or held by the stack's own process), the
// tools provisioning needs (each server's own lookups: Server.requirements), disk space where the
// stack keeps its data and its builds, and memory. It installs, starts and changes nothing; it only
// talks to the stack's servers that are running, through `status`.
import fs from "node:fs";
import path from "node:path";
import { type ServiceName, serviceArgs } from "#services/launch.ts";
import type { Config } from "#shared/platform/config.ts";
import { commandRequirement } from "./apt.ts";
import { commandLine, listeningPids, portInUse } from "./process.ts";
import { type Requirement, serverContext } from "./server.ts";
import { type Row, SERVERS, status } from "./stack.ts";

export interface Check {
  /** What is checked, e.g. `port 25432` or `java`. */
  name: string;
  /** `warn`: the stack may run, but short of room; `fail`: something it needs is missing or taken. */
  status: "ok" | "warn" | "fail";
  /** What was found, or what is wrong and how to fix it. */
  detail: string;
}

const GiB = 2 ** 30;
// A first `up` fills about 4 GiB of Go's own module and build caches (next to the cache folder,
// under the home folder) for the FerretDB and Jaeger builds, and a bench leaves about 1 GiB of data
// in the state folder.
const MIN_FREE_DISK = 5 * GiB;
// The servers take about 1.5 GiB once used (Jaeger keeps its traces in memory), each service about
// 0.3 GiB, and a bench runs several systems at once.
const MIN_AVAILABLE_MEMORY = 4 * GiB;

/** Tools that no server needs but the project's other commands do, and who needs them. */
const OTHER_TOOLS: { command: string; pkg: string; purpose: string }[] = [
  { command: "chromium", pkg: "chromium", purpose: "the browser tests of npm test" },
  // node-gyp builds librdkafka and its binding when npm ci installs @confluentinc/kafka-javascript.
  ...["gcc", "g++", "make"].map((command) => ({
    command,
    pkg: "build-essential",
    purpose: "the Kafka client's native build",
  })),
  { command: "python3", pkg: "python3", purpose: "the Kafka client's native build" },
];

const gib = (bytes: number) => `${(bytes / GiB).toFixed(1)} GiB`;

/** A command line cut to a readable length. */
const shortCommand = (pid: number) => {
  const command = commandLine(pid)?.trim() ?? "";
  return command.length > 80 ? `${command.slice(0, 79)}…` : command;
};

interface PortUse {
  port: number;
  /** The variable that moves it. */
  env: string;
  /** The server or service that listens on it. */
  owner: string;
  /** A server's row from `status`: its pid, when it runs. */
  row?: Row;
  /** A service's entry point, found in the command line of the process that runs it. */
  entry?: string;
}

async function portCheck(use: PortUse): Promise<Check> {
  const name = `port ${use.port}`;
  const label = `${use.owner}, ${use.env}`;
  if (use.port === 0) return { name, status: "ok", detail: `${label}: 0, the system picks a free port at start` };
  if (!(await portInUse(use.port))) return { name, status: "ok", detail: `${label}: free` };
  const pids = listeningPids(use.port);
  const ownPid = use.row?.pid;
  // /proc shows no listener when it belongs to another user: then the pid file is all there is.
  if (ownPid !== undefined && (pids.length === 0 || pids.includes(ownPid))) {
    return { name, status: "ok", detail: `${label}: the stack's ${use.owner} (pid ${ownPid}, ${use.row?.state})` };
  }
  const pid = pids[0];
  const entry = use.entry;
  if (pid !== undefined && entry !== undefined && commandLine(pid)?.includes(entry)) {
    return { name, status: "ok", detail: `${label}: this checkout's ${use.owner} (pid ${pid}, npm start)` };
  }
  const holder = pid === undefined ? "a process this user cannot see" : `pid ${pid} (${shortCommand(pid)})`;
  return { name, status: "fail", detail: `${label}: in use by ${holder}; stop it, or set ${use.env} to move the port` };
}

async function portChecks(config: Config): Promise<Check[]> {
  const rows = await status(config);
  const servers: PortUse[] = SERVERS.flatMap((server) =>
    server.ports(config).map(({ port, env }) => ({
      port,
      env,
      owner: server.name,
      row: rows.find((row) => row.name === server.name),
    })),
  );
  const service = (owner: ServiceName, what: string, port: number, env: string): PortUse => ({
    port,
    env,
    owner: `${owner} ${what}`,
    entry: serviceArgs(owner).at(-1),
  });
  const services = [
    service("gateway", "HTTP", config.gateway.port, "GATEWAY_PORT"),
    service("writer", "gRPC", config.writer.port, "WRITER_PORT"),
    service("writer", "HTTP", config.writer.httpPort, "WRITER_HTTP_PORT"),
    service("reader", "gRPC", config.reader.port, "READER_PORT"),
    service("reader", "HTTP", config.reader.httpPort, "READER_HTTP_PORT"),
  ];
  return Promise.all([...servers, ...services].map(portCheck));
}

function toolCheck(requirement: Requirement, purpose: string): Check {
  const { name, found, fix } = requirement;
  return found === undefined
    ? { name, status: "fail", detail: `${purpose}: missing; ${fix}` }
    : { name, status: "ok", detail: `${purpose}: ${found}` };
}

function toolChecks(config: Config): Check[] {
  const servers = SERVERS.flatMap((server) =>
    server.requirements(serverContext(config, server.name, () => {})).map((req) => toolCheck(req, server.name)),
  );
  const others = OTHER_TOOLS.map(({ command, pkg, purpose }) => toolCheck(commandRequirement(command, pkg), purpose));
  return [...servers, ...others];
}

function diskCheck(what: string, dir: string, fix: string): Check {
  // The folder may not exist yet: its nearest existing parent is on the file system it will be on.
  let existing = dir;
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  const { bavail, bsize } = fs.statfsSync(existing);
  const free = bavail * bsize;
  const name = `disk, ${what}`;
  return free < MIN_FREE_DISK
    ? { name, status: "warn", detail: `${gib(free)} free for ${dir}, under ${gib(MIN_FREE_DISK)}; ${fix}` }
    : { name, status: "ok", detail: `${gib(free)} free for ${dir}` };
}

function memoryCheck(): Check {
  // What the system can still give without swapping, within this process's cgroup's limit if any.
  const available = process.availableMemory();
  return available < MIN_AVAILABLE_MEMORY
    ? {
        name: "memory",
        status: "warn",
        detail: `${gib(available)} available, under ${gib(MIN_AVAILABLE_MEMORY)}: the servers and services may not fit`,
      }
    : { name: "memory", status: "ok", detail: `${gib(available)} available` };
}

/** Every check, in the order printed: ports, tools, disk, memory. */
export async function doctor(config: Config): Promise<Check[]> {
  return [
    ...(await portChecks(config)),
    ...toolChecks(config),
    diskCheck("state folder", config.stateDir, "free some space, or set CQRS_STATE_DIR to a roomier place"),
    diskCheck("cache folder", config.cacheDir, "npm run infra -- prune, or set CQRS_CACHE_DIR to a roomier place"),
    memoryCheck(),
  ];
}

/** One line per check, names aligned. */
export function formatChecks(checks: Check[]): string[] {
  const width = Math.max(0, ...checks.map((check) => check.name.length));
  return checks.map((check) => `${check.status.padEnd(4)} ${check.name.padEnd(width)}  ${check.detail}`);
}
