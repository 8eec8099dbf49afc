// The one place where every address, port, credential and tunable has its name.
//
// Environment variables with defaults; the infra script, the three services and the tests all read
// this module, so nothing disagrees about where a server is. The local stack listens on loopback
// on non-default ports, all below 32768 so that no ephemeral port (a test's port 0, an outgoing
// connection) can ever take one; in compose the same names point at the containers.
import os from "node:os";
import path from "node:path";

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

// The checkout (shared/platform/ is two levels down), or the image's /app when this module is
// bundled into dist/ (one level down).
const repoRoot = path.resolve(import.meta.dirname, path.basename(import.meta.dirname) === "dist" ? ".." : "../..");

function text(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === "" ? fallback : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name}=${raw} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

const port = (env: Env, name: string, fallback: number) => integer(env, name, fallback, 1, 65535);
/** A port a service listens on: 0 asks the system for a free one (tests run services that way). */
const listenPort = (env: Env, name: string, fallback: number) => integer(env, name, fallback, 0, 65535);

export function loadConfig(env: Env = process.env) {
  const cacheHome = text(env, "XDG_CACHE_HOME", path.join(os.homedir(), ".cache"));
  const postgresPort = port(env, "POSTGRES_PORT", 25432);
  const postgresReadPort = port(env, "POSTGRES_READ_PORT", 25433);
  const redisPort = port(env, "REDIS_PORT", 26379);
  const kafkaPort = port(env, "KAFKA_PORT", 29092);
  const ferretdbPort = port(env, "FERRETDB_PORT", 27117);
  const otlpHttpPort = port(env, "JAEGER_OTLP_HTTP_PORT", 24318);
  const queryPort = port(env, "JAEGER_QUERY_PORT", 26686);
  const writerPort = listenPort(env, "WRITER_PORT", 28051);
  const readerPort = listenPort(env, "READER_PORT", 28052);
  const stateDir = path.resolve(text(env, "CQRS_STATE_DIR", path.join(repoRoot, ".local")));
  const keysDir = path.resolve(text(env, "AUTH_KEYS_DIR", path.join(stateDir, "auth")));
  return {
    /** Server data, pid files and logs of the local stack: git-ignored, inside the checkout. */
    stateDir,
    /** Downloads and builds keyed by version, shared by every clone on this machine. */
    cacheDir: path.resolve(text(env, "CQRS_CACHE_DIR", path.join(cacheHome, "cqrs-ts"))),
    postgres: {
      port: postgresPort,
      /** The local PostgreSQL of the read side (FerretDB's storage), apart from the writer's. */
      readPort: postgresReadPort,
      /** The writer's database. */
      url: text(env, "POSTGRES_URL", `postgres://postgres@127.0.0.1:${postgresPort}/cqrs`),
      /** Where the local FerretDB keeps the read model: a PostgreSQL server of its own. */
      ferretdbUrl: text(env, "FERRETDB_POSTGRES_URL", `postgres://postgres@127.0.0.1:${postgresReadPort}/ferretdb`),
    },
    redis: {
      port: redisPort,
      url: text(env, "REDIS_URL", `redis://127.0.0.1:${redisPort}`),
      keyPrefix: text(env, "REDIS_KEY_PREFIX", "cqrs:"),
      // 0 keeps nothing: every read goes to the read model (what the bench's uncached scenario measures).
      cacheTtlSeconds: integer(env, "CACHE_TTL_SECONDS", 300, 0, 86_400),
    },
    kafka: {
      port: kafkaPort,
      controllerPort: port(env, "KAFKA_CONTROLLER_PORT", 29093),
      brokers: text(env, "KAFKA_BROKERS", `127.0.0.1:${kafkaPort}`),
      topicPrefix: text(env, "KAFKA_TOPIC_PREFIX", ""),
      partitions: integer(env, "KAFKA_PARTITIONS", 3, 1, 1000),
      consumerGroup: text(env, "KAFKA_CONSUMER_GROUP", "reader-projections"),
      /** How long the group waits for a reader that stopped heartbeating before its partitions move. */
      sessionTimeoutMs: integer(env, "KAFKA_SESSION_TIMEOUT_MS", 45_000, 6000, 300_000),
      /** How long dead letters are kept (`<topic>.dlq`, set when the reader creates the topic). */
      deadLetterRetentionHours: integer(env, "DLQ_RETENTION_HOURS", 720, 1, 24 * 3650),
    },
    mongodb: {
      ferretdbPort,
      url: text(env, "MONGODB_URL", `mongodb://127.0.0.1:${ferretdbPort}/`),
      database: text(env, "MONGODB_DATABASE", "cqrs"),
    },
    jaeger: {
      otlpHttpPort,
      otlpGrpcPort: port(env, "JAEGER_OTLP_GRPC_PORT", 24317),
      queryPort,
      queryGrpcPort: port(env, "JAEGER_QUERY_GRPC_PORT", 26685),
      healthPort: port(env, "JAEGER_HEALTH_PORT", 23133),
      queryUrl: text(env, "JAEGER_QUERY_URL", `http://127.0.0.1:${queryPort}`),
    },
    otlpEndpoint: text(env, "OTEL_EXPORTER_OTLP_ENDPOINT", `http://127.0.0.1:${otlpHttpPort}`),
    /** How long a service may take to stop on SIGTERM (drain, flush, close) before it exits anyway. */
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 10_000, 100, 600_000),
    auth: {
      /** Where the project's own keys live: the local token issuer's and the internal credential's. */
      keysDir,
      /**
       * The identity provider's JWKS (http or https); empty trusts the local issuer, whose JWKS file
       * is under AUTH_KEYS_DIR (`npm run token` signs with it).
       */
      jwksUrl: text(env, "AUTH_JWKS_URL", ""),
      issuer: text(env, "AUTH_ISSUER", "cqrs-ts-local"),
      audience: text(env, "AUTH_AUDIENCE", "cqrs-ts"),
      /** Where a token keeps its roles, as a dotted path (Keycloak: realm_access.roles). */
      rolesClaim: text(env, "AUTH_ROLES_CLAIM", "roles"),
      algorithms: text(env, "AUTH_ALGORITHMS", "EdDSA,ES256,RS256")
        .split(",")
        .map((name) => name.trim())
        .filter((name) => name !== ""),
      clockSkewSeconds: integer(env, "AUTH_CLOCK_SKEW_SECONDS", 30, 0, 600),
      /** The gateway's private key for the internal credential (the tiers trust only it). */
      internalSigningKeyFile: path.resolve(
        text(env, "INTERNAL_SIGNING_KEY_FILE", path.join(keysDir, "internal.private.jwk.json")),
      ),
      /** The public keys the writer and reader accept the internal credential from. */
      internalJwksFile: path.resolve(text(env, "INTERNAL_JWKS_FILE", path.join(keysDir, "internal.jwks.json"))),
    },
    gateway: {
      host: text(env, "GATEWAY_HOST", "127.0.0.1"),
      port: listenPort(env, "GATEWAY_PORT", 8080),
      /** /metrics is served apart from the public API, on this host and port (the scrape's). */
      metricsHost: text(env, "GATEWAY_METRICS_HOST", "127.0.0.1"),
      metricsPort: listenPort(env, "GATEWAY_METRICS_PORT", 28080),
      /** Deadline of every gRPC call the gateway makes. */
      grpcDeadlineMs: integer(env, "GRPC_DEADLINE_MS", 5000, 1, 600_000),
      /** Origins a browser may call the API from (CORS), e.g. "https://shop.example,http://localhost:3000"; none by default. */
      corsOrigins: text(env, "CORS_ALLOWED_ORIGINS", "")
        .split(",")
        .map((origin) => origin.trim())
        .filter((origin) => origin !== ""),
      /** Per client and window: reads (GET, HEAD) and commands, counted in Redis (REDIS_URL). */
      rateLimit: {
        reads: integer(env, "RATE_LIMIT_READS", 1200, 1, 2_000_000_000),
        commands: integer(env, "RATE_LIMIT_COMMANDS", 120, 1, 2_000_000_000),
        windowSeconds: integer(env, "RATE_LIMIT_WINDOW_SECONDS", 60, 1, 86_400),
        /** Peers whose X-Forwarded-For names the client (exact addresses, separated by commas). */
        trustedProxies: text(env, "TRUSTED_PROXIES", "")
          .split(",")
          .map((address) => address.trim())
          .filter((address) => address !== ""),
      },
    },
    writer: {
      host: text(env, "WRITER_HOST", "127.0.0.1"),
      port: writerPort,
      address: text(env, "WRITER_ADDRESS", `127.0.0.1:${writerPort}`),
      /** /healthz, /readyz (and later /metrics). */
      httpPort: listenPort(env, "WRITER_HTTP_PORT", 28081),
      relayPollMs: integer(env, "OUTBOX_POLL_MS", 2000, 10, 600_000),
      /** How long a relay that stalls keeps the lease before another writer takes it (relay-lease.ts). */
      relayLeaseMs: integer(env, "RELAY_LEASE_MS", 10_000, 400, 600_000),
      /**
       * How long a published outbox row is kept (hours; 0 keeps them for ever). Nothing depends on
       * sent rows: a rebuild reads the aggregates' rows, not the outbox.
       */
      outboxRetentionHours: integer(env, "OUTBOX_RETENTION_HOURS", 168, 0, 24 * 3650),
      /** How long an Idempotency-Key is remembered. */
      idempotencyTtlHours: integer(env, "IDEMPOTENCY_TTL_HOURS", 24, 1, 24 * 365),
      /** drizzle-kit's migrations, applied at start (beside the bundle in the image). */
      migrationsDir: path.resolve(text(env, "MIGRATIONS_DIR", path.join(repoRoot, "drizzle"))),
    },
    reader: {
      host: text(env, "READER_HOST", "127.0.0.1"),
      port: readerPort,
      address: text(env, "READER_ADDRESS", `127.0.0.1:${readerPort}`),
      httpPort: listenPort(env, "READER_HTTP_PORT", 28082),
      /** How long a query may wait for the projection to reach a requested version. */
      minVersionWaitMs: integer(env, "MIN_VERSION_WAIT_MS", 2000, 0, 60_000),
      // Below the gateway's deadline (GRPC_DEADLINE_MS), so a slow query is stopped on the server
      // rather than left running after the caller gave up.
      queryTimeoutMs: integer(env, "READ_MODEL_TIMEOUT_MS", 4000, 1, 600_000),
      // Most messages of one partition the projection applies in one bulk write.
      projectionBatchSize: integer(env, "PROJECTION_BATCH_SIZE", 200, 1, 10_000),
      /** How often a reader reads which generation of each read model is live (a rebuild's switch). */
      generationsPollMs: integer(env, "GENERATIONS_POLL_MS", 1000, 50, 60_000),
    },
  };
}

export type Config = ReturnType<typeof loadConfig>;

/**
 * The variables each service reads to find its peers and servers. compose.yaml must set each of
 * them for that service (its defaults point at the local stack on loopback); a test checks it.
 */
export const SERVICE_ENV = {
  gateway: [
    "GATEWAY_HOST",
    "GATEWAY_PORT",
    "GATEWAY_METRICS_HOST",
    "GATEWAY_METRICS_PORT",
    "AUTH_KEYS_DIR",
    "REDIS_URL",
    "WRITER_ADDRESS",
    "READER_ADDRESS",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
  ],
  writer: [
    "WRITER_HOST",
    "WRITER_PORT",
    "WRITER_HTTP_PORT",
    "POSTGRES_URL",
    "KAFKA_BROKERS",
    "INTERNAL_JWKS_FILE",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
  ],
  reader: [
    "READER_HOST",
    "READER_PORT",
    "READER_HTTP_PORT",
    "MONGODB_URL",
    "MONGODB_DATABASE",
    "REDIS_URL",
    "KAFKA_BROKERS",
    "INTERNAL_JWKS_FILE",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
  ],
} as const;
