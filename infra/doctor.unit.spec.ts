// The doctor's checks, run in-process on a state folder of this test's own (so no server of the
// shared stack counts as the stack's): a port this test listens on is reported in use by this very
// process, a free one as free, and one held by a process that the state folder's pid file names as
// the stack's Redis as the stack's own.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "#shared/platform/config.ts";
import { freePort } from "#tests/support/wait.ts";
import { type Check, doctor } from "./doctor.ts";
import { serverContext } from "./server.ts";

describe("npm run infra -- doctor", () => {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), "doctor-"));
  const listener = net.createServer();
  let fakeRedis: ChildProcess | undefined;
  let taken = 0;
  let free = 0;
  let redisPort = 0;
  let checks: Check[] = [];

  before(async () => {
    listener.listen(0, "127.0.0.1");
    await once(listener, "listening");
    const address = listener.address();
    taken = typeof address === "object" && address !== null ? address.port : 0;
    free = await freePort();
    redisPort = await freePort();
    const config = loadConfig({
      ...process.env,
      CQRS_STATE_DIR: state,
      POSTGRES_PORT: String(taken),
      KAFKA_PORT: String(free),
      REDIS_PORT: String(redisPort),
    });

    // A stand-in the pid file calls the stack's Redis: its command line carries Redis's marker
    // (`--dir <data folder>`), and it closes every connection, so the ping fails at once.
    const redis = serverContext(config, "redis", () => {});
    const listen = `const s = require("node:net").createServer((c) => c.destroy());
      s.listen(Number(process.argv[1]), "127.0.0.1", () => console.log("listening"));`;
    const child = spawn(process.execPath, ["-e", listen, String(redisPort), "--dir", redis.dataDir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    fakeRedis = child;
    const [line] = await once(readline.createInterface({ input: child.stdout }), "line");
    assert.equal(line, "listening");
    fs.mkdirSync(path.dirname(redis.pidFile), { recursive: true });
    fs.writeFileSync(redis.pidFile, `${child.pid}\n`);

    checks = await doctor(config);
  });

  after(() => {
    fakeRedis?.kill();
    listener.close();
    fs.rmSync(state, { recursive: true, force: true });
  });

  const port = (n: number) => checks.find((check) => check.name === `port ${n}`);

  it("gives every check a name, a status and a detail", () => {
    assert.ok(checks.length > 10);
    for (const check of checks) {
      assert.ok(check.name.length > 0 && check.detail.length > 0, JSON.stringify(check));
      assert.ok(["ok", "warn", "fail"].includes(check.status), JSON.stringify(check));
    }
    for (const name of ["java", "redis-server", "chromium", "memory", "disk, state folder", "disk, cache folder"]) {
      assert.ok(
        checks.some((check) => check.name === name),
        `no check named ${name}`,
      );
    }
  });

  it("reports a port held by another process as in use, by whom, and the variable that moves it", () => {
    assert.equal(port(taken)?.status, "fail");
    assert.match(port(taken)?.detail ?? "", new RegExp(`^postgres, POSTGRES_PORT: in use by pid ${process.pid} \\(`));
    assert.match(port(taken)?.detail ?? "", /set POSTGRES_PORT to move the port$/);
  });

  it("reports a free port as free", () => {
    assert.deepEqual(port(free), { name: `port ${free}`, status: "ok", detail: "kafka, KAFKA_PORT: free" });
  });

  it("reports a port held by the stack's own server as ok, with its pid and state", () => {
    assert.deepEqual(port(redisPort), {
      name: `port ${redisPort}`,
      status: "ok",
      detail: `redis, REDIS_PORT: the stack's redis (pid ${fakeRedis?.pid}, not answering)`,
    });
  });
});
