// Redis 7 from Debian's redis-server package, run as the project's own instance: own folder,
// loopback port, append-only file so a restart keeps the data.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createClient } from "redis";
import { commandRequirement, ensureCommand } from "../apt.ts";
import { startDetached } from "../process.ts";
import type { Server } from "../server.ts";

export const redisServer: Server = {
  name: "redis",
  version: () => {
    const out = spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout ?? "";
    return out.match(/v=(\S+)/)?.[1] ?? "7";
  },
  dependsOn: [],
  stopGraceMs: 10_000,
  ports: (config) => [{ port: config.redis.port, env: "REDIS_PORT" }],
  address: (config) => `127.0.0.1:${config.redis.port}`,
  // With its process title left alone, redis keeps the command line it was started with.
  marker: (ctx) => `--dir ${ctx.dataDir}`,

  requirements: () => [commandRequirement("redis-server", "redis-server")],

  async provision(ctx) {
    ensureCommand("redis-server", "redis-server", ctx.say);
    fs.mkdirSync(ctx.dataDir, { recursive: true });
  },

  async start(ctx) {
    return startDetached({
      command: "redis-server",
      args: [
        "--bind",
        "127.0.0.1",
        "--port",
        String(ctx.config.redis.port),
        "--dir",
        ctx.dataDir,
        "--appendonly",
        "yes",
        "--save",
        "",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--set-proc-title",
        "no",
      ],
      pidFile: ctx.pidFile,
      logFile: ctx.logFile,
    });
  },

  async ping(ctx) {
    const client = createClient({
      url: `redis://127.0.0.1:${ctx.config.redis.port}`,
      socket: { connectTimeout: 1000, reconnectStrategy: false },
    });
    client.on("error", () => {});
    await client.connect();
    try {
      const answer = await client.ping();
      if (answer !== "PONG") throw new Error(`PING answered ${answer}`);
    } finally {
      client.destroy();
    }
  },
};
