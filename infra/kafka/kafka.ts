// Apache Kafka 4.1, single-node KRaft. No Debian or npm package ships the broker, so its jars come
// from Maven Central (infra/kafka/pom.xml), collected once per version and pom.xml content into the
// user-level cache.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { KafkaJS } from "@confluentinc/kafka-javascript";
import { commandRequirement, ensureCommand } from "../apt.ts";
import { buildCacheDir } from "../build-cache.ts";
import { portInUse, runLongTool, runTool, startDetached } from "../process.ts";
import type { Server, ServerContext } from "../server.ts";

export const KAFKA_VERSION = "4.1.1";
const here = import.meta.dirname;

const buildDir = (ctx: ServerContext) =>
  buildCacheDir(ctx.config.cacheDir, "kafka", KAFKA_VERSION, [path.join(here, "pom.xml")]);
const libsDir = (ctx: ServerContext) => path.join(buildDir(ctx), "libs");
/** Java runs the broker; Maven collects its jars, once. */
const JAVA = { command: "java", pkg: "openjdk-17-jre-headless" };
const MAVEN = { command: "mvn", pkg: "maven" };

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{(\w+)\}/g, (_, name: string) => values[name] ?? "");
}

export const kafkaServer: Server = {
  name: "kafka",
  version: () => KAFKA_VERSION,
  dependsOn: [],
  stopGraceMs: 30_000,
  ports: (config) => [
    { port: config.kafka.port, env: "KAFKA_PORT" },
    { port: config.kafka.controllerPort, env: "KAFKA_CONTROLLER_PORT" },
  ],
  address: (config) => `127.0.0.1:${config.kafka.port}`,
  marker: (ctx) => path.join(ctx.runDir, "server.properties"),

  requirements: (ctx) => [
    commandRequirement(JAVA.command, JAVA.pkg),
    fs.existsSync(libsDir(ctx))
      ? { name: MAVEN.command, found: `not needed: Kafka's jars are collected (${libsDir(ctx)})`, fix: "" }
      : commandRequirement(MAVEN.command, MAVEN.pkg),
  ],
  cacheDirs: (ctx) => [buildDir(ctx)],

  async provision(ctx) {
    ensureCommand(JAVA.command, JAVA.pkg, ctx.say);
    const libs = libsDir(ctx);
    if (!fs.existsSync(libs)) {
      ensureCommand(MAVEN.command, MAVEN.pkg, ctx.say);
      ctx.say(`collecting Kafka ${KAFKA_VERSION} jars from Maven Central into ${libs} (about 30 s)`);
      const staging = `${libs}.partial-${process.pid}`;
      fs.rmSync(staging, { recursive: true, force: true });
      await runLongTool(
        "mvn",
        [
          "-q",
          "-B",
          "-f",
          path.join(here, "pom.xml"),
          "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
          `-DoutputDirectory=${staging}`,
        ],
        { what: "collecting Kafka's jars with Maven", source: "Maven Central" },
      );
      fs.renameSync(staging, libs);
    }
    fs.mkdirSync(ctx.runDir, { recursive: true });
    fs.mkdirSync(ctx.dataDir, { recursive: true });
    const properties = fill(fs.readFileSync(path.join(here, "server.properties"), "utf8"), {
      KAFKA_PORT: String(ctx.config.kafka.port),
      KAFKA_CONTROLLER_PORT: String(ctx.config.kafka.controllerPort),
      DATA_DIR: ctx.dataDir,
    });
    const propertiesFile = path.join(ctx.runDir, "server.properties");
    fs.writeFileSync(propertiesFile, properties);
    fs.copyFileSync(path.join(here, "log4j2.properties"), path.join(ctx.runDir, "log4j2.properties"));
    if (!fs.existsSync(path.join(ctx.dataDir, "meta.properties"))) {
      const clusterId = randomClusterId();
      ctx.say(`formatting Kafka storage in ${ctx.dataDir}`);
      runTool(
        "java",
        [
          "-cp",
          `${libs}/*`,
          `-Dlog4j2.configurationFile=${path.join(ctx.runDir, "log4j2.properties")}`,
          "kafka.tools.StorageTool",
          "format",
          "-t",
          clusterId,
          "-c",
          propertiesFile,
        ],
        { what: "formatting Kafka storage" },
      );
    }
  },

  async start(ctx) {
    return startDetached({
      command: "java",
      args: [
        "-Xms128m",
        "-Xmx512m",
        "-XX:+UseG1GC",
        `-Dlog4j2.configurationFile=${path.join(ctx.runDir, "log4j2.properties")}`,
        "-cp",
        `${libsDir(ctx)}/*`,
        "kafka.Kafka",
        path.join(ctx.runDir, "server.properties"),
      ],
      pidFile: ctx.pidFile,
      logFile: ctx.logFile,
    });
  },

  async ping(ctx) {
    // Until the listener accepts connections a metadata request would only wait out its timeout.
    if (!(await portInUse(ctx.config.kafka.port))) throw new Error("not listening yet");
    // A metadata request through the same client the services use.
    const admin = new KafkaJS.Kafka({
      kafkaJS: {
        brokers: [`127.0.0.1:${ctx.config.kafka.port}`],
        connectionTimeout: 1000,
        logLevel: KafkaJS.logLevel.NOTHING,
      },
    }).admin();
    await admin.connect();
    try {
      await admin.listTopics({ timeout: 2000 });
    } finally {
      await admin.disconnect();
    }
  },
};

/**
 * A cluster id: 16 random bytes in URL-safe base64, what `kafka-storage random-uuid` prints, and
 * like it never starting with "-" (1 in 64 would; the format command would read it as an option).
 */
export function randomClusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}
