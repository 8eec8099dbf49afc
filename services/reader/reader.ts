// The reader's composition root: MongoDB read model, Redis cache, the projections consuming Kafka,
// and the query functions served over gRPC.

import crypto from "node:crypto";
import os from "node:os";
import * as grpc from "@grpc/grpc-js";
import { MongoClient } from "mongodb";
import { projections, readerHandlers } from "#functions/reader-registry.ts";
import type { Config } from "#shared/platform/config.ts";
import { topicFor } from "#shared/platform/events.ts";
import { healthRoutes } from "#shared/platform/health.ts";
import { serveHttp } from "#shared/platform/http-server.ts";
import { kafkaClient } from "#shared/platform/kafka.ts";
import type { Log } from "#shared/platform/log.ts";
import { observeConsumerLag } from "#shared/platform/telemetry/lag-metrics.ts";
import { metricsRoutes } from "#shared/platform/telemetry/metrics.ts";
import { connectCache } from "#shared/read-side/cache.ts";
import { followGenerations } from "#shared/read-side/generations.ts";
import { type ProjectionRunner, startProjections } from "#shared/read-side/projection-consumer.ts";
import type { ReaderDeps } from "#shared/read-side/reader-deps.ts";
import { listen } from "#shared/transport/grpc.ts";
import { tierAdmission } from "#shared/transport/internal-credential.ts";

export interface Reader {
  grpcPort: number;
  httpPort: number;
  deps: ReaderDeps;
  projections: ProjectionRunner;
  stop(): Promise<void>;
}

/** The read model and cache, and the dependencies the query functions get (also used by `npm run invoke`). */
export async function connectReaderDeps(
  config: Config,
  log: Log,
): Promise<{ deps: ReaderDeps; close(): Promise<void> }> {
  const mongo = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  await mongo.connect();
  const cache = await connectCache({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    ttlSeconds: config.redis.cacheTtlSeconds,
    log,
  });
  const readModel = mongo.db(config.mongodb.database);
  const generations = await followGenerations({
    db: readModel,
    instance: `reader@${os.hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`,
    pollMs: config.reader.generationsPollMs,
    models: projections.map((projection) => projection.model),
    log,
  });
  return {
    deps: {
      readModel,
      cache,
      generations,
      clock: () => new Date(),
      minVersionWaitMs: config.reader.minVersionWaitMs,
      queryTimeoutMs: config.reader.queryTimeoutMs,
    },
    async close() {
      await generations.close();
      await cache.close();
      await mongo.close();
    },
  };
}

/** What the projections' consumer takes from the configuration (also for tests that run other projections). */
export function projectionSettings(config: Config) {
  return {
    topicPrefix: config.kafka.topicPrefix,
    groupId: config.kafka.consumerGroup,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    deadLetterRetentionHours: config.kafka.deadLetterRetentionHours,
    partitions: config.kafka.partitions,
    batchSize: config.reader.projectionBatchSize,
  };
}

export async function startReader(config: Config, log: Log): Promise<Reader> {
  const { deps, close } = await connectReaderDeps(config, log);
  const { readModel, cache, generations } = deps;

  const kafka = kafkaClient(config.kafka.brokers, "reader");
  const runner = await startProjections({
    kafka,
    ...projectionSettings(config),
    projections,
    deps: { readModel, cache, generations },
    log,
  });

  const server = new grpc.Server();
  const admit = tierAdmission(config);
  for (const handler of readerHandlers) handler.serve(server, deps, { log, admit });
  const grpcPort = await listen(server, config.reader.host, config.reader.port);
  const stopLag = observeConsumerLag(kafka, config.kafka.consumerGroup, [
    ...new Set(projections.map((p) => topicFor(config.kafka.topicPrefix, p.aggregateType))),
  ]);
  const http = await serveHttp(
    healthRoutes(async () => {
      await readModel.command({ ping: 1 });
    }).route("/", metricsRoutes()),
    config.reader.host,
    config.reader.httpPort,
  );
  log({
    msg: "reader listening",
    grpc: `${config.reader.host}:${grpcPort}`,
    http: `${config.reader.host}:${http.port}`,
  });

  return {
    grpcPort,
    httpPort: http.port,
    deps,
    projections: runner,
    async stop() {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await http.close();
      await runner.stop();
      await stopLag();
      await close();
    },
  };
}
