// Test isolation (docs/architecture.md, "The local stack and compose"): every integration and
// end-to-end test derives its database names, topic names, consumer group and Redis key prefix from
// the run id and its own name, runs services on free ports, and removes what it created. A running
// `npm start` is never touched.
import { MongoClient } from "mongodb";
import postgres from "postgres";
import { createClient } from "redis";
import { type Gateway, startGateway } from "#services/gateway/gateway.ts";
import { type Reader, startReader } from "#services/reader/reader.ts";
import { startWriter, type Writer } from "#services/writer/writer.ts";
import { type Config, loadConfig } from "#shared/platform/config.ts";
import { deadLetterTopicFor, topicFor } from "#shared/platform/events.ts";
import { kafkaClient } from "#shared/platform/kafka.ts";
import { createLog, type Log } from "#shared/platform/log.ts";
import { eventually, freePort } from "./wait.ts";

export { eventually, freePort };

export const runId = (process.env.CQRS_TEST_RUN_ID ?? `local${process.pid}`).toLowerCase().replace(/[^a-z0-9]/g, "");

/** Logs of services under test: kept quiet unless TEST_LOGS=1. */
export const testLog: Log = process.env.TEST_LOGS === "1" ? createLog("test") : () => {};

/** Rate-limit budgets no test reaches: the limiter stays on (the rate-limit tests set their own). */
export const UNREACHED_BUDGETS = { RATE_LIMIT_READS: "1000000000", RATE_LIMIT_COMMANDS: "1000000000" };

/** The environment of one isolated test system named `name` (its services on free ports). */
export function testEnv(name: string, overrides: Record<string, string> = {}): Record<string, string> {
  const base = loadConfig();
  const id = `t_${runId}_${name.replace(/[^a-z0-9]/gi, "_").toLowerCase()}`;
  const pg = new URL(base.postgres.url);
  pg.pathname = `/${id}`;
  return {
    POSTGRES_URL: pg.toString(),
    MONGODB_DATABASE: id,
    KAFKA_TOPIC_PREFIX: `${id}.`,
    KAFKA_CONSUMER_GROUP: `${id}.reader`,
    REDIS_KEY_PREFIX: `${id}:`,
    WRITER_PORT: "0",
    WRITER_HTTP_PORT: "0",
    READER_PORT: "0",
    READER_HTTP_PORT: "0",
    GATEWAY_PORT: "0",
    GATEWAY_METRICS_PORT: "0",
    ...UNREACHED_BUDGETS,
    OUTBOX_POLL_MS: "500",
    // Room for a loaded 2-core machine to carry a write to the read model, within the gateway's
    // 5 s gRPC deadline.
    MIN_VERSION_WAIT_MS: "4000",
    ...overrides,
  };
}

/** The configuration of one isolated test system named `name`. */
export function testConfig(name: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, ...testEnv(name, overrides) });
}

/** Removes everything a test system created: its database, read model, topics, group and keys. */
export async function cleanUp(config: Config, aggregateTypes: string[] = ["product", "user"]): Promise<void> {
  const dbName = decodeURIComponent(new URL(config.postgres.url).pathname.slice(1));
  const maintenance = new URL(config.postgres.url);
  maintenance.pathname = "/postgres";
  const sql = postgres(maintenance.toString(), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop database if exists "${dbName}" with (force)`);
  } finally {
    await sql.end({ timeout: 2 });
  }

  const mongo = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  try {
    await mongo.db(config.mongodb.database).dropDatabase();
  } finally {
    await mongo.close();
  }

  const admin = kafkaClient(config.kafka.brokers, "test-cleanup").admin();
  await admin.connect();
  try {
    const topics = aggregateTypes.map((type) => topicFor(config.kafka.topicPrefix, type));
    const existing = new Set(await admin.listTopics());
    const doomed = [...topics, ...topics.map(deadLetterTopicFor)].filter((topic) => existing.has(topic));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
    await admin.deleteGroups([config.kafka.consumerGroup]).catch(() => {});
  } finally {
    await admin.disconnect();
  }

  const redis = createClient({ url: config.redis.url });
  await redis.connect();
  try {
    for await (const keys of redis.scanIterator({ MATCH: `${config.redis.keyPrefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await redis.del(keys);
    }
  } finally {
    redis.destroy();
  }
}

export interface TestSystem {
  config: Config;
  writer: Writer;
  reader: Reader;
  gateway: Gateway;
  url: string;
  stop(): Promise<void>;
}

/** Writer, reader and gateway in this process, on free ports, on their own data. */
export async function startSystem(name: string, overrides: Record<string, string> = {}): Promise<TestSystem> {
  const config = testConfig(name, overrides);
  // What has started, stopped again if a later step fails: a half-started system would keep the
  // test file's process alive, and the run would hang instead of failing.
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const part of started.reverse()) await part.stop();
    await cleanUp(config);
  };
  try {
    const writer = await startWriter(config, testLog);
    started.push(writer);
    const reader = await startReader(config, testLog);
    started.push(reader);
    // Joining the consumer group takes a while; a test's first X-Min-Version read must not pay for it.
    await eventually(
      "the reader's consumer to be assigned its partitions",
      async () => (reader.projections.assigned() > 0 ? true : undefined),
      60_000,
    );
    const gatewayConfig = loadConfig({
      ...process.env,
      // The system's own Redis key prefix and budgets (testEnv), for its rate limits.
      ...testEnv(name, overrides),
      GATEWAY_PORT: "0",
      GATEWAY_METRICS_PORT: "0",
      WRITER_ADDRESS: `127.0.0.1:${writer.grpcPort}`,
      READER_ADDRESS: `127.0.0.1:${reader.grpcPort}`,
      ...overrides,
    });
    const gateway = await startGateway(gatewayConfig, testLog);
    started.push(gateway);
    return { config, writer, reader, gateway, url: gateway.url, stop: stopAll };
  } catch (error) {
    await stopAll().catch(() => {});
    throw error;
  }
}
