// Proves what `npm run infra` itself does, on a throwaway PostgreSQL + Redis of this test's own (a
// temporary state folder and free ports; the shared stack is never touched):
//   (a) `up` starts both servers, and a second `up` finds them already up with the same pids;
//   (b) data written to both survives `down` then `up` (Redis persists through its append-only file);
//   (c) after Redis is killed with SIGKILL, `status` reports its stale pid file and exits non-zero,
//       and `up` starts it again (new pid, data kept) while leaving PostgreSQL alone;
//   (d) `down` stops both and leaves no process of theirs alive;
//   (e) a port held by another process makes `up` fail with one line naming the port and the
//       variable that moves it, not a stack trace.
// The real CLI runs as a child process on Node 24, configured through the environment only.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import postgres from "postgres";
import { createClient } from "redis";
import { eventually, freePort } from "#tests/support/wait.ts";

const root = path.resolve(import.meta.dirname, "../..");
const SERVERS = ["postgres", "redis"];
const CLI_TIMEOUT_MS = 180_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Row {
  state: string;
  pid: number | undefined;
}

/** A port nobody listens on right now: the kernel's pick for port 0. */

/** Whether a process with this pid exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

/** Live processes whose command line contains one of `needles`, or whose parent is one of `parents`. */
function processesMatching(needles: string[], parents: number[] = []): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || !alive(pid)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (needles.some((needle) => cmd.includes(needle)) || parents.includes(ppid)) found.push(pid);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

const until = (what: string, ms: number, condition: () => boolean) =>
  eventually(what, async () => (condition() ? true : undefined), ms, 50);

/** The status rows the CLI prints (see formatRow in infra/stack.ts), by server name. */
function rows(stdout: string): Map<string, Row> {
  const found = new Map<string, Row>();
  for (const line of stdout.split("\n")) {
    const match = /^(\S+)\s+\S+\s+(.+?)\s+pid (\d+|-)\s/.exec(line);
    if (!match?.[1] || !match[2] || !match[3] || ![...SERVERS, "postgres-read"].includes(match[1])) continue;
    found.set(match[1], { state: match[2], pid: match[3] === "-" ? undefined : Number(match[3]) });
  }
  return found;
}

function row(run: Run, name: string): Row {
  const found = rows(run.stdout).get(name);
  assert.ok(found, `no ${name} row in the output:\n${run.stdout}\n${run.stderr}`);
  return found;
}

function pidOf(run: Run, name: string): number {
  const { pid } = row(run, name);
  assert.ok(pid !== undefined && pid > 0, `${name} has no pid in:\n${run.stdout}`);
  return pid;
}

describe("npm run infra on a throwaway PostgreSQL and Redis", () => {
  let stateDir = "";
  let env: NodeJS.ProcessEnv = {};
  let postgresPort = 0;
  let redisPort = 0;
  let readPort = 0;
  /** Every server pid seen, so that `after` can make sure none outlives the test. */
  const pids = new Set<number>();

  function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(root, "infra/cli.ts"), ...args], {
        cwd: root,
        env: { ...env, ...extraEnv },
        stdio: ["ignore", "pipe", "pipe"],
        timeout: CLI_TIMEOUT_MS,
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
        stderr += chunk;
      });
      child.once("error", reject);
      child.once("close", (code) => {
        for (const found of rows(stdout).values()) if (found.pid !== undefined) pids.add(found.pid);
        resolve({ code, stdout, stderr });
      });
    });
  }

  async function ok(args: string[]): Promise<Run> {
    const run = await cli(args);
    assert.equal(run.code, 0, `infra ${args.join(" ")} failed:\n${run.stdout}\n${run.stderr}`);
    return run;
  }

  const pidFile = (name: string) => path.join(stateDir, "run", `${name}.pid`);
  const readPidFile = (name: string) => Number(fs.readFileSync(pidFile(name), "utf8").trim());
  const sqlClient = () =>
    postgres(`postgres://postgres@127.0.0.1:${postgresPort}/cqrs`, { max: 1, connect_timeout: 5, onnotice: () => {} });

  const redisClient = () =>
    createClient({ url: `redis://127.0.0.1:${redisPort}`, socket: { connectTimeout: 5000, reconnectStrategy: false } });

  async function withRedis<T>(use: (client: ReturnType<typeof redisClient>) => Promise<T>): Promise<T> {
    const client = redisClient();
    client.on("error", () => {});
    await client.connect();
    try {
      return await use(client);
    } finally {
      client.destroy();
    }
  }

  before(async () => {
    const major = Number(process.versions.node.split(".")[0]);
    assert.ok(major >= 24, `the infra CLI needs Node 24; this is ${process.version} (run through npm test)`);

    // The temporary folder must be traversable by the `postgres` user, who owns the cluster.
    const tmp = os.tmpdir();
    assert.ok((fs.statSync(tmp).mode & 0o001) !== 0, `${tmp} is not traversable by other users`);
    stateDir = fs.mkdtempSync(path.join(tmp, "cqrs-infra-test-"));
    fs.chmodSync(stateDir, 0o755); // mkdtemp makes it 0700
    if (process.getuid?.() === 0) {
      const check = spawnSync("runuser", ["-u", "postgres", "--", "test", "-x", stateDir]);
      assert.equal(check.status, 0, `the postgres user cannot traverse ${stateDir}`);
    }

    postgresPort = await freePort();
    do redisPort = await freePort();
    while (redisPort === postgresPort);
    do readPort = await freePort();
    while (readPort === postgresPort || readPort === redisPort);
    env = {
      ...process.env,
      CQRS_STATE_DIR: stateDir,
      POSTGRES_PORT: String(postgresPort),
      POSTGRES_READ_PORT: String(readPort),
      REDIS_PORT: String(redisPort),
    };
    for (const name of ["POSTGRES_URL", "FERRETDB_POSTGRES_URL", "REDIS_URL"]) delete env[name];
  });

  after(async () => {
    try {
      // Only once the environment points at the throwaway folder: without it, `down` would stop the shared stack.
      if (env.CQRS_STATE_DIR === stateDir && stateDir !== "") await cli(["down", ...SERVERS]);
    } finally {
      // Last resort: whatever of ours is still running is killed.
      const leftovers = [...pids].filter(alive);
      if (stateDir !== "") leftovers.push(...processesMatching([stateDir, `127.0.0.1:${redisPort}`]));
      for (const pid of new Set(leftovers)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      if (stateDir !== "") fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  let postgresPid = 0;
  let redisPid = 0;

  test("(a) up starts both; a second up finds them already up with the same pids", async () => {
    const first = await ok(["up", ...SERVERS]);
    assert.equal(row(first, "postgres").state, "started");
    assert.equal(row(first, "redis").state, "started");
    postgresPid = pidOf(first, "postgres");
    redisPid = pidOf(first, "redis");
    assert.ok(alive(postgresPid) && alive(redisPid));
    assert.equal(readPidFile("postgres"), postgresPid);
    assert.equal(readPidFile("redis"), redisPid);
    assert.ok(
      fs.existsSync(path.join(stateDir, "data", "postgres", "PG_VERSION")),
      "the cluster is in the state folder",
    );

    const second = await ok(["up", ...SERVERS]);
    assert.deepEqual(row(second, "postgres"), { state: "already up", pid: postgresPid });
    assert.deepEqual(row(second, "redis"), { state: "already up", pid: redisPid });

    const status = await ok(["status", ...SERVERS]);
    assert.deepEqual(row(status, "postgres"), { state: "up", pid: postgresPid });
    assert.deepEqual(row(status, "redis"), { state: "up", pid: redisPid });
  });

  test("(b) data survives down then up", async () => {
    const sql = sqlClient();
    try {
      await sql`create table kept (id int primary key, body text not null)`;
      await sql`insert into kept values (1, 'before restart')`;
    } finally {
      await sql.end({ timeout: 5 });
    }
    await withRedis(async (client) => {
      assert.equal(await client.set("kept", "before restart"), "OK");
    });

    const stopped = await ok(["down", ...SERVERS]);
    assert.deepEqual(row(stopped, "postgres"), { state: "stopped", pid: postgresPid });
    assert.deepEqual(row(stopped, "redis"), { state: "stopped", pid: redisPid });
    assert.ok(!alive(postgresPid) && !alive(redisPid), "both processes are gone after down");

    const started = await ok(["up", ...SERVERS]);
    assert.equal(row(started, "postgres").state, "started");
    assert.equal(row(started, "redis").state, "started");
    const newPostgres = pidOf(started, "postgres");
    const newRedis = pidOf(started, "redis");
    assert.notEqual(newPostgres, postgresPid);
    assert.notEqual(newRedis, redisPid);
    postgresPid = newPostgres;
    redisPid = newRedis;

    const again = sqlClient();
    try {
      const kept = await again<{ body: string }[]>`select body from kept where id = 1`;
      assert.equal(kept[0]?.body, "before restart");
    } finally {
      await again.end({ timeout: 5 });
    }
    assert.equal(await withRedis((client) => client.get("kept")), "before restart");
  });

  test("(c) a killed Redis shows as a stale pid file, and up brings it back with its data", async () => {
    const killed = readPidFile("redis");
    assert.equal(killed, redisPid);
    process.kill(killed, "SIGKILL");
    await until(`redis (pid ${killed}) to die`, 10_000, () => !alive(killed));

    const status = await cli(["status", ...SERVERS]);
    assert.notEqual(status.code, 0, "status exits non-zero when a server is down");
    assert.deepEqual(row(status, "redis"), { state: "down (stale pid file)", pid: undefined });
    assert.deepEqual(row(status, "postgres"), { state: "up", pid: postgresPid });

    const up = await ok(["up", ...SERVERS]);
    assert.match(up.stdout, /redis: stale pid file/);
    assert.deepEqual(row(up, "postgres"), { state: "already up", pid: postgresPid });
    assert.equal(row(up, "redis").state, "started");
    redisPid = pidOf(up, "redis");
    assert.notEqual(redisPid, killed);
    assert.equal(readPidFile("redis"), redisPid);

    assert.equal(await withRedis((client) => client.get("kept")), "before restart");
  });

  test("(d) down stops both and leaves no process alive", async () => {
    const stopped = await ok(["down", ...SERVERS]);
    assert.deepEqual(row(stopped, "postgres"), { state: "stopped", pid: postgresPid });
    assert.deepEqual(row(stopped, "redis"), { state: "stopped", pid: redisPid });
    for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} is still alive after down`);
    assert.deepEqual(
      processesMatching([stateDir, `127.0.0.1:${redisPort}`], [...pids]),
      [],
      "no server process (nor a PostgreSQL backend) is left",
    );
    assert.ok(!fs.existsSync(pidFile("postgres")) && !fs.existsSync(pidFile("redis")), "pid files are removed");

    const status = await cli(["status", ...SERVERS]);
    assert.notEqual(status.code, 0);
    assert.deepEqual(row(status, "postgres"), { state: "down", pid: undefined });
    assert.deepEqual(row(status, "redis"), { state: "down", pid: undefined });
  });

  test("(e) a port held by another process fails with one clear line", async () => {
    const holder = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      holder.once("error", reject);
      holder.listen(0, "127.0.0.1", resolve);
    });
    try {
      const address = holder.address();
      assert.ok(address !== null && typeof address === "object");
      const port = address.port;
      const run = await cli(["up", "redis"], { REDIS_PORT: String(port) });
      assert.notEqual(run.code, 0, `up succeeded on a held port:\n${run.stdout}`);
      assert.equal(run.code, 1);
      const lines = run.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `expected one line on stderr, got:\n${run.stderr}`);
      const [line = ""] = lines;
      assert.ok(line.includes(String(port)), `the error names port ${port}: ${line}`);
      assert.ok(line.includes("REDIS_PORT"), `the error names REDIS_PORT: ${line}`);
      assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
      assert.ok(!fs.existsSync(pidFile("redis")), "no redis was started");
      assert.deepEqual(processesMatching([`127.0.0.1:${port}`, `--port ${port}`]), []);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  test("(f) the read side's cluster: a read model kept in the writer's cluster is copied over, once", async () => {
    await ok(["up", "postgres"]);
    const writerSide = postgres(`postgres://postgres@127.0.0.1:${postgresPort}/postgres`, {
      max: 1,
      onnotice: () => {},
    });
    try {
      await writerSide`create database ferretdb`;
    } finally {
      await writerSide.end({ timeout: 5 });
    }
    const oldReadModel = postgres(`postgres://postgres@127.0.0.1:${postgresPort}/ferretdb`, {
      max: 1,
      onnotice: () => {},
    });
    try {
      await oldReadModel`create table documents (id int primary key, body jsonb not null)`;
      await oldReadModel`insert into documents values (1, '{"name": "kept"}')`;
    } finally {
      await oldReadModel.end({ timeout: 5 });
    }

    const up = await ok(["up", "postgres-read"]);
    assert.equal(row(up, "postgres-read").state, "started");
    assert.match(up.stdout, /copying the read model from the writer's PostgreSQL/);
    const readSide = postgres(`postgres://postgres@127.0.0.1:${readPort}/ferretdb`, { max: 1, onnotice: () => {} });
    try {
      const [copied] = await readSide<{ name: string }[]>`select body->>'name' as name from documents where id = 1`;
      assert.equal(copied?.name, "kept");
    } finally {
      await readSide.end({ timeout: 5 });
    }

    await ok(["down", "postgres-read"]);
    const again = await ok(["up", "postgres-read"]);
    assert.doesNotMatch(again.stdout, /copying/, "the copy is made once");
    await ok(["down", "postgres-read"]);
    assert.equal(row(await cli(["status", "postgres-read"]), "postgres-read").state, "down");
  });
});
