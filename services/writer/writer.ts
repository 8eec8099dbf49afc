// The writer's composition root: PostgreSQL (migrated at start), the outbox relay to Kafka, and the
// command functions served over gRPC. Returns a handle that stops everything in order.
import os from "node:os";
import * as grpc from "@grpc/grpc-js";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { v7 as uuidv7 } from "uuid";
import { writerHandlers } from "#functions/writer-registry.ts";
import type { Config } from "#shared/platform/config.ts";
import { crashPoint } from "#shared/platform/crash-point.ts";
import { healthRoutes } from "#shared/platform/health.ts";
import { serveHttp } from "#shared/platform/http-server.ts";
import { connectProducer, kafkaClient } from "#shared/platform/kafka.ts";
import type { Log } from "#shared/platform/log.ts";
import { observeOutboxBacklog } from "#shared/platform/telemetry/lag-metrics.ts";
import { metricsRoutes } from "#shared/platform/telemetry/metrics.ts";
import type { CallMiddleware } from "#shared/transport/function.ts";
import { listen } from "#shared/transport/grpc.ts";
import { tierAdmission } from "#shared/transport/internal-credential.ts";
import * as schema from "#shared/write-side/db/schema.ts";
import { deleteExpiredKeys, idempotency } from "#shared/write-side/idempotency.ts";
import { deleteSentRows } from "#shared/write-side/outbox.ts";
import { type Relay, startRelay } from "#shared/write-side/outbox-relay.ts";
import { tracedSql } from "#shared/write-side/postgres-spans.ts";
import { startRelayLease } from "#shared/write-side/relay-lease.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";

/** Creates the database named in `url` if it does not exist (a fresh compose volume, a test run). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  const sql = postgres(maintenance.toString(), { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select 1 as present from pg_database where datname = ${name}`;
    if (!row) await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Applies drizzle-kit's migrations on a separate one-connection client. */
export async function migrateDatabase(url: string, migrationsFolder: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle(sql), { migrationsFolder });
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export interface Writer {
  grpcPort: number;
  httpPort: number;
  deps: WriterDeps;
  drainOutbox(): Promise<number>;
  stop(): Promise<void>;
}

/** The database, migrated, and the dependencies the command functions get (also used by `npm run invoke`). */
export async function connectWriterDeps(config: Config): Promise<{ sql: postgres.Sql; deps: WriterDeps }> {
  await ensureDatabase(config.postgres.url);
  await migrateDatabase(config.postgres.url, config.writer.migrationsDir);
  const sql = postgres(config.postgres.url, { max: 20, onnotice: () => {} });
  const db = drizzle(tracedSql(sql, config.postgres.url), { schema });
  return { sql, deps: { db, clock: () => new Date(), newId: uuidv7 } };
}

export async function startWriter(config: Config, log: Log): Promise<Writer> {
  const { sql, deps } = await connectWriterDeps(config);

  const kafka = kafkaClient(config.kafka.brokers, "writer");
  const producer = await connectProducer(kafka);
  let relay: Relay | undefined;
  const lease = await startRelayLease({
    url: config.postgres.url,
    instance: `writer@${os.hostname()}:${process.pid}`,
    leaseMs: config.writer.relayLeaseMs,
    log,
    onTaken: () => void relay?.drain(),
  });
  try {
    const started = await startRelay({
      sql,
      producer,
      kafka,
      topicPrefix: config.kafka.topicPrefix,
      partitions: config.kafka.partitions,
      pollMs: config.writer.relayPollMs,
      isRelay: lease.held,
      giveUp: lease.yieldLease,
      giveUpAfterMs: config.writer.relayLeaseMs,
      log,
    });
    relay = started;

    const server = new grpc.Server();
    const keys = idempotency(config.writer.idempotencyTtlHours * 3_600_000);
    const middleware: CallMiddleware<WriterDeps> = async (call, callDeps, next) => {
      const response = await keys(call, callDeps, next);
      crashPoint("writer-before-reply"); // committed, not yet answered
      return response;
    };
    const admit = tierAdmission(config);
    for (const handler of writerHandlers) handler.serve(server, deps, { log, admit, middleware });
    const sweep = setInterval(() => {
      deleteExpiredKeys(deps.db, deps.clock()).catch((error: unknown) =>
        log({ level: "warn", msg: "could not delete expired idempotency keys", err: error }),
      );
      const retentionMs = config.writer.outboxRetentionHours * 3_600_000;
      if (retentionMs > 0) {
        deleteSentRows(deps.db, new Date(deps.clock().getTime() - retentionMs)).catch((error: unknown) =>
          log({ level: "warn", msg: "could not delete published outbox rows", err: error }),
        );
      }
    }, 3_600_000);
    sweep.unref();
    const grpcPort = await listen(server, config.writer.host, config.writer.port);
    observeOutboxBacklog(sql);
    const http = await serveHttp(
      healthRoutes(async () => {
        await sql`select 1`;
      }).route("/", metricsRoutes()),
      config.writer.host,
      config.writer.httpPort,
    );
    log({
      msg: "writer listening",
      grpc: `${config.writer.host}:${grpcPort}`,
      http: `${config.writer.host}:${http.port}`,
    });

    return {
      grpcPort,
      httpPort: http.port,
      deps,
      drainOutbox: () => started.drain(),
      async stop() {
        clearInterval(sweep);
        await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        await http.close();
        await started.stop();
        await lease.stop();
        await producer.disconnect();
        await sql.end({ timeout: 5 });
      },
    };
  } catch (error) {
    // A writer that could not start holds nothing: not the lease, not a connection.
    await relay?.stop().catch(() => undefined);
    await lease.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw error;
  }
}
