// What the infra script knows of each server of the local stack.
import path from "node:path";
import type { Config } from "#shared/platform/config.ts";

export interface ServerContext {
  config: Config;
  /** This server's data folder (inside the state folder). */
  dataDir: string;
  /** Where this server's generated configuration files go. */
  runDir: string;
  pidFile: string;
  logFile: string;
  /** Progress output for long steps (downloads, builds). */
  say: (line: string) => void;
  /** Builds run at the lowest CPU priority (`nice -n 19`), behind what already serves. */
  lowPriority?: boolean;
}

export interface PortUse {
  port: number;
  /** The environment variable that moves it. */
  env: string;
}

/** Something a server needs on the machine to be provisioned, as `npm run infra -- doctor` shows it. */
export interface Requirement {
  /** What is needed, e.g. `java` or `postgresql-15`. */
  name: string;
  /** Where it was found (or why it is not needed); undefined when it is missing. */
  found: string | undefined;
  /** How to get it, in one line. */
  fix: string;
}

export interface Server {
  name: string;
  /** The version that runs (or would run): asks the installed binary where that is cheap. */
  version(ctx: ServerContext): string;
  /** Servers that must be ready before this one starts. */
  dependsOn: string[];
  ports(config: Config): PortUse[];
  /** What a client connects to, as shown in the status table. */
  address(config: Config): string;
  /** A substring of the process's command line, so a stale pid file reused by another process is not trusted. */
  marker(ctx: ServerContext): string;
  /**
   * A substring only the command line of the current build has (its binary's path), for servers the
   * project builds: `up` restarts one still running an older build (e.g. before a patch changed).
   */
  build?(ctx: ServerContext): string;
  /** Installs and builds what is missing; cached by version outside the checkout. */
  provision(ctx: ServerContext): Promise<void>;
  /** What `provision` needs of the machine: the same lookups, without installing anything. */
  requirements(ctx: ServerContext): Requirement[];
  /**
   * The folders of the user cache this checkout's builds of the server use (whether built yet or
   * not): what `npm run infra -- prune` keeps. None for a server from Debian's packages.
   */
  cacheDirs?(ctx: ServerContext): string[];
  /** Starts the server detached; returns its pid. */
  start(ctx: ServerContext): Promise<number>;
  /** One protocol-level ping; throws if the server does not answer. */
  ping(ctx: ServerContext): Promise<void>;
  /** Where its data lives, when not `ctx.dataDir` (wiped by `reset` too). */
  dataDir?(ctx: ServerContext): string;
  /** Runs once the server answers, e.g. to create the databases the project needs. */
  afterReady?(ctx: ServerContext): Promise<void>;
  /** How long a graceful stop may take before SIGKILL. */
  stopGraceMs: number;
  /** The signal of a graceful stop (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
}

export function serverContext(config: Config, name: string, say: (line: string) => void): ServerContext {
  return {
    config,
    dataDir: path.join(config.stateDir, "data", name),
    runDir: path.join(config.stateDir, "run", name),
    pidFile: path.join(config.stateDir, "run", `${name}.pid`),
    logFile: path.join(config.stateDir, "logs", `${name}.log`),
    say,
  };
}
