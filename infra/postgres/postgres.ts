// PostgreSQL 15 from the machine's Debian package, run as the project's own clusters, each with its
// own data folder and loopback port: `postgres`, the writer's, and `postgres-read`, where FerretDB
// keeps the read model, so that the write database and the read side fail apart, as they would in
// production. PostgreSQL refuses to run as root, so as root the clusters belong to the `postgres`
// user.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import postgres from "postgres";
import type { Config } from "#shared/platform/config.ts";
import { ensurePackage, installLine } from "../apt.ts";
import { InfraError, runTool, startDetached } from "../process.ts";
import type { Server, ServerContext } from "../server.ts";

const MAJOR = "15";
const PACKAGE = `postgresql-${MAJOR}`;
const binDir = `/usr/lib/postgresql/${MAJOR}/bin`;
const bin = (name: string) => path.join(binDir, name);
/** The server binaries the cluster is made and run with. */
const BINARIES = ["initdb", "postgres"];

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
function clusterDir(ctx: ServerContext, name: string): string {
  const user = owner();
  if (user.uid === undefined) return ctx.dataDir;
  let existing = path.dirname(ctx.dataDir);
  while (!fs.existsSync(existing)) existing = path.dirname(existing);
  if (spawnSync("test", ["-x", existing], user).status === 0) return ctx.dataDir;
  const key = crypto.createHash("sha256").update(ctx.config.stateDir).digest("hex").slice(0, 12);
  return path.join("/var/tmp", `cqrs-ts-${key}`, name);
}

const urlOf = (port: number, database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;

interface Cluster {
  name: string;
  port: (config: Config) => number;
  portEnv: string;
  /** The databases the project uses on it. */
  databases: string[];
  dependsOn?: string[];
  /** Server settings besides the address and connection limit, passed as `-c name=value`. */
  settings?: Record<string, string>;
  /** Runs once its databases exist (the first time or any other). */
  afterDatabases?: (ctx: ServerContext, created: string[]) => Promise<void>;
}

function postgresCluster(cluster: Cluster): Server {
  const port = (ctx: ServerContext) => cluster.port(ctx.config);
  const dir = (ctx: ServerContext) => clusterDir(ctx, cluster.name);
  return {
    name: cluster.name,
    dependsOn: cluster.dependsOn ?? [],
    version: () => {
      if (!fs.existsSync(bin("postgres"))) return MAJOR;
      const out = runTool(bin("postgres"), ["--version"], { what: "postgres --version" });
      return out.match(/\d+\.\d+/)?.[0] ?? MAJOR;
    },
    stopGraceMs: 20_000,
    // SIGINT is PostgreSQL's "fast" shutdown: it ends client sessions and checkpoints. SIGTERM would
    // wait for every client (FerretDB, a running `npm start`) to leave on its own.
    stopSignal: "SIGINT",
    ports: (config) => [{ port: cluster.port(config), env: cluster.portEnv }],
    address: (config) => `127.0.0.1:${cluster.port(config)}`,
    marker: (ctx) => dir(ctx),
    dataDir: (ctx) => dir(ctx),

    requirements: () => [
      {
        name: `${PACKAGE} (${BINARIES.join(", ")})`,
        found: BINARIES.every((name) => fs.existsSync(bin(name))) ? binDir : undefined,
        fix: `run: ${installLine(PACKAGE)}`,
      },
    ],

    async provision(ctx) {
      const dataDir = dir(ctx);
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
      const dataDir = dir(ctx);
      return startDetached({
        command: bin("postgres"),
        args: [
          "-D",
          dataDir,
          "-p",
          String(port(ctx)),
          "-k",
          dataDir,
          "-c",
          "listen_addresses=127.0.0.1",
          "-c",
          "max_connections=300",
          ...Object.entries(cluster.settings ?? {}).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
        ],
        pidFile: ctx.pidFile,
        logFile: ctx.logFile,
        ...owner(),
      });
    },

    async ping(ctx) {
      const sql = postgres(urlOf(port(ctx), "postgres"), { max: 1, connect_timeout: 2, onnotice: () => {} });
      try {
        await sql`select 1`;
      } finally {
        await sql.end({ timeout: 1 });
      }
    },

    async afterReady(ctx) {
      const sql = postgres(urlOf(port(ctx), "postgres"), { max: 1, onnotice: () => {} });
      const created: string[] = [];
      try {
        const existing = await sql<{ datname: string }[]>`select datname from pg_database`;
        const names = new Set(existing.map((row) => row.datname));
        for (const name of cluster.databases) {
          if (names.has(name)) continue;
          await sql.unsafe(`create database "${name}"`);
          created.push(name);
        }
      } finally {
        await sql.end({ timeout: 1 });
      }
      await cluster.afterDatabases?.(ctx, created);
    },
  };
}

export const postgresServer = postgresCluster({
  name: "postgres",
  port: (config) => config.postgres.port,
  portEnv: "POSTGRES_PORT",
  databases: ["cqrs"],
});

export const readPostgresServer = postgresCluster({
  name: "postgres-read",
  port: (config) => config.postgres.readPort,
  portEnv: "POSTGRES_READ_PORT",
  databases: ["ferretdb"],
  // FerretDB keeps each document as one jsonb value, compressed once it passes 2 kB (a product with
  // its word prefixes is about 2.5 kB), and PostgreSQL decompresses it for every field a query
  // reads: a filter of 4 fields over 10k products took 114 ms with the default pglz, 73 ms with
  // lz4. Documents written before keep their compression.
  // 512 MB of shared buffers, not the default 128: the read model at 100k products (with its
  // indexes and compressed documents) is about 300 MB, and the projection's upserts land all over
  // it; `npm run bench -- --only catch-up`: 100k against 10k went from 547 vs 731 events/s to
  // 640 vs 636 and 756 vs 757 (searches at 100k did not change: they are bound by CPU).
  // A statement that runs a second or longer has its plan in the server's log
  // (.local/logs/postgres-read.log): the one plan of a bench run that went wrong can be read after it.
  settings: {
    default_toast_compression: "lz4",
    shared_buffers: "512MB",
    shared_preload_libraries: "auto_explain",
    "auto_explain.log_min_duration": "1s",
  },
  // Up after the writer's, so that a read model an earlier version kept there can be copied over.
  dependsOn: ["postgres"],
  afterDatabases: async (ctx, created) => {
    if (created.includes("ferretdb")) await moveReadModel(ctx);
  },
});

/**
 * Once, when the read cluster's database is new: a read model an earlier version kept in the
 * writer's cluster (database `ferretdb` there) is copied over with pg_dump and pg_restore, so an
 * existing local stack keeps its read model. The old copy is left where it was, and said so.
 */
async function moveReadModel(ctx: ServerContext): Promise<void> {
  const from = urlOf(ctx.config.postgres.port, "postgres");
  const sql = postgres(from, { max: 1, connect_timeout: 2, onnotice: () => {} });
  let present = false;
  try {
    const [row] = await sql<
      { present: boolean }[]
    >`select exists (select 1 from pg_database where datname = 'ferretdb') as present`;
    present = row?.present === true;
  } catch {
    return; // the writer's cluster is not up: nothing to move from
  } finally {
    await sql.end({ timeout: 1 });
  }
  if (!present) return;
  ctx.say("copying the read model from the writer's PostgreSQL (database ferretdb) to postgres-read, once");
  const dump = spawnSync(bin("pg_dump"), ["--format=custom", "-d", urlOf(ctx.config.postgres.port, "ferretdb")], {
    maxBuffer: 1 << 30,
  });
  if (dump.status !== 0) throw new InfraError(`pg_dump of the old read model failed: ${dump.stderr.toString().trim()}`);
  const restore = spawnSync(bin("pg_restore"), ["--no-owner", "-d", urlOf(ctx.config.postgres.readPort, "ferretdb")], {
    input: dump.stdout,
    maxBuffer: 1 << 30,
  });
  if (restore.status !== 0) {
    throw new InfraError(`pg_restore of the old read model failed: ${restore.stderr.toString().trim()}`);
  }
  ctx.say(
    "read model copied; the writer's PostgreSQL still has the old copy (database ferretdb), which nothing uses now: drop it when you like",
  );
}
