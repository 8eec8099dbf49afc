// The fault suite's own stack: every server of the local stack but the trace store, in a state folder
// and on ports of its own (the shared stack and a running `npm start` are never touched), with two
// writers, two readers and one gateway as processes. Each part can be killed (SIGKILL to its whole
// process group: a PostgreSQL's backends die with it, as in a power cut), frozen (SIGSTOP) and
// thawed, and brought back.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { down, up } from "#infra/stack.ts";
import type { ServiceName } from "#services/launch.ts";
import { type Config, loadConfig } from "#shared/platform/config.ts";
import { type ServiceProcess, spawnService, waitReady } from "#tests/support/processes.ts";
import { UNREACHED_BUDGETS } from "#tests/support/system.ts";
import { eventually, freePort } from "#tests/support/wait.ts";

export const SERVER_NAMES = ["postgres", "postgres-read", "redis", "kafka", "ferretdb"] as const;
export type ServerName = (typeof SERVER_NAMES)[number];
export const SERVICE_NAMES = ["writer-1", "writer-2", "reader-1", "reader-2", "gateway"] as const;
export type ServiceInstance = (typeof SERVICE_NAMES)[number];

const kindOf = (name: ServiceInstance): ServiceName =>
  name.startsWith("writer") ? "writer" : name.startsWith("reader") ? "reader" : "gateway";

interface Instance {
  env: Record<string, string>;
  healthUrl: string;
  process?: ServiceProcess;
  /** Every run of it: their lines together are what it wrote (the suite reads the projections' log). */
  runs: ServiceProcess[];
}

export interface FaultStack {
  config: Config;
  gatewayUrl: string;
  /** The writer's database, for the checks. */
  postgresUrl: string;
  mongoUrl: string;
  database: string;
  pidOf(server: ServerName): number;
  kill(server: ServerName): void;
  freeze(server: ServerName): void;
  thaw(server: ServerName): void;
  restart(server: ServerName): Promise<void>;
  /** Starts the instance (again), with extra environment for this run only (e.g. a crash point). */
  startService(name: ServiceInstance, extraEnv?: Record<string, string>): Promise<void>;
  killService(name: ServiceInstance): Promise<void>;
  service(name: ServiceInstance): ServiceProcess | undefined;
  /** Every line the instance wrote, all runs together. */
  serviceLines(name: ServiceInstance): string[];
  healthUrl(name: ServiceInstance): string;
  stop(): Promise<void>;
}

export async function startFaultStack(say: (line: string) => void): Promise<FaultStack> {
  // Traversable by the `postgres` user, who owns the clusters when we run as root.
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-faults-"));
  fs.chmodSync(stateDir, 0o755);
  const [pg, pgRead, redis, kafka, controller, ferretdb, ...servicePorts] = await Promise.all(
    Array.from({ length: 6 + 2 * 4 + 1 }, () => freePort()),
  );
  const infraEnv: Record<string, string> = {
    CQRS_STATE_DIR: stateDir,
    POSTGRES_PORT: String(pg),
    POSTGRES_READ_PORT: String(pgRead),
    REDIS_PORT: String(redis),
    KAFKA_PORT: String(kafka),
    KAFKA_CONTROLLER_PORT: String(controller),
    FERRETDB_PORT: String(ferretdb),
  };
  const baseEnv = { ...process.env } as Record<string, string>;
  for (const name of ["POSTGRES_URL", "FERRETDB_POSTGRES_URL", "REDIS_URL", "MONGODB_URL", "KAFKA_BROKERS"])
    delete baseEnv[name];
  const config = loadConfig({ ...baseEnv, ...infraEnv });
  const serverSay = (line: string) => say(`[infra] ${line}`);
  say(`state folder ${stateDir}; bringing up ${SERVER_NAMES.join(", ")}`);
  try {
    await up(config, [...SERVER_NAMES], serverSay);
  } catch (error) {
    // The servers that did start (a later one failed) stop with the failure: nothing outlives the run.
    await down(config, [...SERVER_NAMES], serverSay).catch(() => undefined);
    fs.rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }

  const port = (i: number) => String(servicePorts[i]);
  const common: Record<string, string> = {
    ...infraEnv,
    // The keys the suite's clients mint their tokens with (this process's), not a folder of the stack's.
    AUTH_KEYS_DIR: loadConfig().auth.keysDir,
    // The limits on, with budgets the load never reaches.
    ...UNREACHED_BUDGETS,
    POSTGRES_URL: config.postgres.url,
    MONGODB_URL: config.mongodb.url,
    REDIS_URL: config.redis.url,
    KAFKA_BROKERS: config.kafka.brokers,
    // Traces go nowhere (no trace store here); metrics stay: the suite reads the relay's lease from them.
    OTEL_TRACES_EXPORTER: "none",
    OUTBOX_POLL_MS: "500",
    RELAY_LEASE_MS: "3000",
    KAFKA_SESSION_TIMEOUT_MS: "6000",
    MIN_VERSION_WAIT_MS: "2000",
    GRPC_DEADLINE_MS: "3000",
    READ_MODEL_TIMEOUT_MS: "2500",
    SHUTDOWN_TIMEOUT_MS: "5000",
    CACHE_TTL_SECONDS: "600",
  };
  const writerAddress = `127.0.0.1:${port(0)},127.0.0.1:${port(2)}`;
  const readerAddress = `127.0.0.1:${port(4)},127.0.0.1:${port(6)}`;
  const instances = new Map<ServiceInstance, Instance>();
  const tier = (kind: "WRITER" | "READER", grpc: number, http: number): Instance => ({
    env: { ...common, [`${kind}_PORT`]: port(grpc), [`${kind}_HTTP_PORT`]: port(http) },
    healthUrl: `http://127.0.0.1:${port(http)}`,
    runs: [],
  });
  instances.set("writer-1", tier("WRITER", 0, 1));
  instances.set("writer-2", tier("WRITER", 2, 3));
  instances.set("reader-1", tier("READER", 4, 5));
  instances.set("reader-2", tier("READER", 6, 7));
  instances.set("gateway", {
    env: {
      ...common,
      GATEWAY_PORT: port(8),
      GATEWAY_METRICS_PORT: "0",
      WRITER_ADDRESS: writerAddress,
      READER_ADDRESS: readerAddress,
    },
    healthUrl: `http://127.0.0.1:${port(8)}`,
    runs: [],
  });
  const instance = (name: ServiceInstance) => instances.get(name) as Instance;

  const pidOf = (server: ServerName) =>
    Number(fs.readFileSync(path.join(stateDir, "run", `${server}.pid`), "utf8").trim());
  const signalGroup = (server: ServerName, signal: NodeJS.Signals) => process.kill(-pidOf(server), signal);

  async function startService(name: ServiceInstance, extraEnv: Record<string, string> = {}) {
    await killService(name);
    const it = instance(name);
    const child = spawnService(kindOf(name), { ...baseEnv, ...it.env, OTEL_SERVICE_NAME: name, ...extraEnv });
    it.process = child;
    it.runs.push(child);
    // A crash point may end it before it is ready: that is for the caller to wait on.
    if (extraEnv.CQRS_CRASH_AT) {
      await Promise.race([waitReady(child, `${it.healthUrl}/readyz`, 60_000).catch(() => undefined), child.exited]);
      return;
    }
    await waitReady(child, `${it.healthUrl}/readyz`, 60_000);
  }

  async function killService(name: ServiceInstance) {
    const child = instance(name).process;
    if (!child || child.child.exitCode !== null || child.child.signalCode !== null) return;
    child.child.kill("SIGKILL");
    await child.exited;
  }

  say("starting writer-1, writer-2, reader-1, reader-2, gateway");
  await Promise.all([startService("writer-1"), startService("reader-1")]);
  await Promise.all([startService("writer-2"), startService("reader-2")]);
  await startService("gateway");

  return {
    config,
    gatewayUrl: instance("gateway").healthUrl,
    postgresUrl: config.postgres.url,
    mongoUrl: config.mongodb.url,
    database: config.mongodb.database,
    pidOf,
    kill: (server) => signalGroup(server, "SIGKILL"),
    freeze: (server) => signalGroup(server, "SIGSTOP"),
    thaw: (server) => signalGroup(server, "SIGCONT"),
    async restart(server) {
      // Gone for good first: a killed group may take a moment to be reaped.
      await eventually(`${server}'s processes to be gone`, async () => {
        try {
          process.kill(-pidOf(server), 0);
          return undefined;
        } catch {
          return true;
        }
      });
      await up(config, [server], serverSay);
    },
    startService,
    killService,
    service: (name) => instance(name).process,
    serviceLines: (name) => instance(name).runs.flatMap((run) => run.lines),
    healthUrl: (name) => instance(name).healthUrl,
    async stop() {
      await Promise.all(SERVICE_NAMES.map((name) => instance(name).process?.stop()));
      // A frozen server would never stop.
      for (const server of SERVER_NAMES) {
        try {
          process.kill(-pidOf(server), "SIGCONT");
        } catch {
          // not running
        }
      }
      await down(config, [...SERVER_NAMES], serverSay).catch((error: unknown) => say(`down: ${String(error)}`));
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
