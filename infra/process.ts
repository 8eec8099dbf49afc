// Processes of the local stack: started detached with output to a log file, tracked by a pid file,
// recognised by their command line (so a stale pid file reused by another process is not trusted),
// and stopped with SIGTERM, a bounded wait, then SIGKILL.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export class InfraError extends Error {
  override name = "InfraError";
}

export interface ProcessFiles {
  pidFile: string;
  logFile: string;
}

/** The command line of a live process, or undefined if there is none with that pid. */
export function commandLine(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return undefined;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** The pid recorded in `pidFile` if that process is alive and its command line contains `marker`. */
export function runningPid(pidFile: string, marker: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const cmd = commandLine(pid);
  if (cmd === undefined || !cmd.includes(marker) || isZombie(pid)) return undefined;
  return pid;
}

export interface StartOptions extends ProcessFiles {
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

/** Starts a server detached from us (it outlives this script), appending its output to its log. */
export function startDetached(options: StartOptions): number {
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = fs.openSync(options.logFile, "a");
  try {
    fs.writeSync(log, `\n--- started ${new Date().toISOString()}: ${options.command} ${options.args.join(" ")}\n`);
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ["ignore", log, log],
      uid: options.uid,
      gid: options.gid,
    });
    if (child.pid === undefined) throw new InfraError(`could not start ${options.command}`);
    child.unref();
    fs.writeFileSync(options.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    fs.closeSync(log);
  }
}

export function alive(pid: number): boolean {
  return commandLine(pid) !== undefined && !isZombie(pid);
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

/** SIGTERM (or `signal`), wait up to `graceMs`, then SIGKILL. Returns whether it had to kill. */
export async function stopProcess(
  pid: number,
  graceMs: number,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<"stopped" | "killed"> {
  try {
    process.kill(pid, signal);
  } catch {
    return "stopped";
  }
  if (await waitForExit(pid, graceMs)) return "stopped";
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return "stopped";
  }
  await waitForExit(pid, 5000);
  return "killed";
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(true);
    });
  });
}

/**
 * The pids of the processes listening on TCP `port` (on any address), as far as /proc shows them to
 * this user: the listening sockets' inodes from /proc/net/tcp and tcp6, then the processes holding
 * one of them open.
 */
export function listeningPids(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = fs.readFileSync(table, "utf8");
    } catch {
      continue;
    }
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...; st 0A is LISTEN.
    for (const line of text.trim().split("\n").slice(1)) {
      const [, local = "", , state, , , , , , inode = "0"] = line.trim().split(/\s+/);
      if (state === "0A" && Number.parseInt(local.split(":")[1] ?? "", 16) === port && inode !== "0") inodes.add(inode);
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // another user's process, or one that has just ended
    }
    const holds = fds.some((fd) => {
      try {
        return inodes.has(/^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${entry}/fd/${fd}`))?.[1] ?? "");
      } catch {
        return false;
      }
    });
    if (holds) pids.push(Number(entry));
  }
  return pids;
}

/** Output signatures of the usual causes of a failed build or download, with what to say about them. */
const CAUSES: [RegExp, (match: RegExpMatchArray, source?: string) => string | undefined][] = [
  [
    /go\.mod requires go >= (\S+) \(running go (\S+); GOTOOLCHAIN=local\)/,
    ([, wanted, running]) => `it needs Go ${wanted}, this is Go ${running} with GOTOOLCHAIN=local`,
  ],
  [
    /no such host|name resolution|temporary failure resolving|unknown ?host|network is unreachable|dial tcp|i\/o timeout|tls handshake timeout|connection refused|connection timed out|connect timed out|could not transfer artifact/i,
    // Only for a step that downloads: elsewhere these words are no sign of a network problem.
    (_, source) => source && `no network, or ${source} is unreachable`,
  ],
];

/** The first line says what failed and, when the output shows it, the likely cause; then the output's end. */
function failure(what: string, how: string, output: string, source?: string): InfraError {
  const cause = CAUSES.map(([pattern, say]) => {
    const match = output.match(pattern);
    return match && say(match, source);
  }).find((said) => said);
  const head = cause ? `${what} failed (${how}), likely because ${cause}` : `${what} failed (${how})`;
  const tail = output.trim().split("\n").slice(-15).join("\n");
  return new InfraError(`${head}; the end of its output:\n${tail}`);
}

interface ToolOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  what: string;
  /** Where it downloads from, to name in the error when the network looks like the cause. */
  source?: string;
}

/** Runs a short command to completion; its output is returned, a failure is one clear InfraError. */
export function runTool(
  command: string,
  args: string[],
  options: ToolOptions & { uid?: number; gid?: number },
): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    uid: options.uid,
    gid: options.gid,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new InfraError(`${options.what}: '${command}' is not installed`);
  }
  if (result.status !== 0) {
    const how = result.status === null ? `killed by ${result.signal}` : `exit ${result.status}`;
    throw failure(options.what, how, `${result.stdout ?? ""}${result.stderr ?? ""}`, options.source);
  }
  return result.stdout;
}

/**
 * A long step (a build, a download) as a child process, without blocking the event loop, so the
 * other servers start and answer their pings meanwhile. Resolves with its standard output; a failure
 * is one clear InfraError.
 */
export function runLongTool(command: string, args: string[], options: ToolOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    const stdout: Buffer[] = [];
    const keep = (chunk: Buffer) => {
      tail.push(chunk.toString());
      if (tail.length > 50) tail.shift();
    };
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout.push(chunk);
      keep(chunk);
    });
    child.stderr?.on("data", keep);
    child.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new InfraError(
          error.code === "ENOENT"
            ? `${options.what}: '${command}' is not installed`
            : `${options.what}: ${error.message}`,
        ),
      ),
    );
    // "close", not "exit": only then has all of its output been read (a fast tool's last chunk
    // can arrive after its exit, and `go mod download -json` then looked empty).
    child.once("close", (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(stdout).toString("utf8"));
      reject(
        failure(options.what, code === null ? `killed by ${signal}` : `exit ${code}`, tail.join(""), options.source),
      );
    });
  });
}

/** The last lines of a log file, for an error message. */
export function logTail(logFile: string, lines = 20): string {
  try {
    return fs.readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
