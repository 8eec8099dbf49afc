// PostgreSQL 15 from the machine's Debian package, run as the project's own cluster: its own data
// folder and loopback port. PostgreSQL refuses to run as root, so as root the cluster belongs to the
// `postgres` user.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { ensurePackage, installLine } from "../apt.ts";
import { InfraError, runTool, startDetached } from "../process.ts";
import type { Server, ServerContext } from "../server.ts";

const MAJOR = "15";
const PACKAGE = `postgresql-${MAJOR}`;
const binDir = `/usr/lib/postgresql/${MAJOR}/bin`;
const bin = (name: string) => path.join(binDir, name);
/** The server binaries the cluster is made and run with. */
const BINARIES = ["initdb", "postgres"];

/** The databases the project uses on this server: the writer's and FerretDB's. */
const DATABASES = ["cqrs", "ferretdb"];

function owner(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const out = spawnSync("getent", ["passwd", "postgres"], { encoding: "utf8" }).stdout.split(":");
  const uid = Number(out[2]);
  const gid = Number(out[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new InfraError("there is no 'postgres' user to run PostgreSQL as; install postgresql-15");
  }
  return { uid, gid };
}

/**
 * Where the cluster lives: the state folder, unless the `postgres` user cannot reach it (a checkout
 * under a root-only folder such as /root); then a folder under /var/tmp named after the state folder.
 */
function clusterDir(ctx: ServerContext): string {
  const user = owner();
  if (user.uid === undefined) return ctx.dataDir;
  let existing = path.dirname(ctx.dataDir);
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  if (spawnSync("test", ["-x", existing], user).status === 0) return ctx.dataDir;
  const key = crypto.createHash("sha256").update(ctx.config.stateDir).digest("hex").slice(0, 12);
  return path.join("/var/tmp", `cqrs-ts-${key}`, "postgres");
}

function maintenanceUrl(ctx: ServerContext): string {
  return `postgres://postgres@127.0.0.1:${ctx.config.postgres.port}/postgres`;
}

export const postgresServer: Server = {
  name: "postgres",
  version: () => {
    if (!fs.existsSync(bin("postgres"))) return MAJOR;
    const out = runTool(bin("postgres"), ["--version"], { what: "postgres --version" });
    return out.match(/\d+\.\d+/)?.[0] ?? MAJOR;
  },
  dependsOn: [],
  stopGraceMs: 20_000,
  // SIGINT is PostgreSQL's "fast" shutdown: it ends client sessions and checkpoints. SIGTERM would
  // wait for every client (FerretDB, a running `npm start`) to leave on its own.
  stopSignal: "SIGINT",
  ports: (config) => [{ port: config.postgres.port, env: "POSTGRES_PORT" }],
  address: (config) => `127.0.0.1:${config.postgres.port}`,
  marker: (ctx) => clusterDir(ctx),
  dataDir: (ctx) => clusterDir(ctx),

  requirements: () => [
    {
      name: `${PACKAGE} (${BINARIES.join(", ")})`,
      found: BINARIES.every((name) => fs.existsSync(bin(name))) ? binDir : undefined,
      fix: `run: ${installLine(PACKAGE)}`,
    },
  ],

  async provision(ctx) {
    const dataDir = clusterDir(ctx);
    if (!BINARIES.every((name) => fs.existsSync(bin(name)))) ensurePackage(PACKAGE, ctx.say);
    if (fs.existsSync(path.join(dataDir, "PG_VERSION"))) return;
    if (dataDir !== ctx.dataDir)
      ctx.say(`the 'postgres' user cannot reach ${ctx.dataDir}; the cluster goes to ${dataDir}`);
    const user = owner();
    // Only the data folder itself is private: `recursive` would give the parents mode 0700 too.
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (user.uid !== undefined && user.gid !== undefined) fs.chownSync(dataDir, user.uid, user.gid);
    const reachable = spawnSync("test", ["-w", dataDir], user);
    if (reachable.status !== 0) {
      throw new InfraError(
        `the 'postgres' user cannot reach ${dataDir} (a parent folder is closed to it); ` +
          "set CQRS_STATE_DIR to a folder it can traverse, or move the checkout",
      );
    }
    ctx.say(`initialising a PostgreSQL cluster in ${dataDir}`);
    // C.UTF-8 whatever the environment's locale: strings sort by code point, as BSON does, which
    // FerretDB's pushed-down string ranges and sorts rely on (infra/ferretdb/PATCH.md).
    const args = ["-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"];
    runTool(bin("initdb"), args, {
      ...user,
      what: "initdb",
    });
  },

  async start(ctx) {
    const dataDir = clusterDir(ctx);
    return startDetached({
      command: bin("postgres"),
      args: [
        "-D",
        dataDir,
        "-p",
        String(ctx.config.postgres.port),
        "-k",
        dataDir,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "max_connections=300",
      ],
      pidFile: ctx.pidFile,
      logFile: ctx.logFile,
      ...owner(),
    });
  },

  async ping(ctx) {
    const sql = postgres(maintenanceUrl(ctx), { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`select 1`;
    } finally {
      await sql.end({ timeout: 1 });
    }
  },

  async afterReady(ctx) {
    const sql = postgres(maintenanceUrl(ctx), { max: 1, onnotice: () => {} });
    try {
      const existing = await sql<{ datname: string }[]>`select datname from pg_database`;
      const names = new Set(existing.map((row) => row.datname));
      for (const name of DATABASES) {
        if (!names.has(name)) await sql.unsafe(`create database "${name}"`);
      }
    } finally {
      await sql.end({ timeout: 1 });
    }
  },
};
