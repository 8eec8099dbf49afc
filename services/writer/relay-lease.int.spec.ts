// The relay's lease on a real PostgreSQL: of several writers one relays; a graceful stop hands the
// lease over, a dead holder's session frees it at once, and a frozen holder (SIGSTOP) loses it after
// RELAY_LEASE_MS; the writer that takes over says how long there was no relay.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { after, before, test } from "node:test";
import postgres from "postgres";
import { type RelayLease, startRelayLease } from "#shared/write-side/relay-lease.ts";
import { cleanUp, eventually, testConfig } from "#tests/support/system.ts";
import { ensureDatabase, migrateDatabase } from "./writer.ts";

const LEASE_MS = 800;
const config = testConfig("relay_lease");
const url = config.postgres.url;
const leases: RelayLease[] = [];
const logs = new Map<string, Record<string, unknown>[]>();
let sql: postgres.Sql;
let frozen: ChildProcess | undefined;

async function join(name: string): Promise<RelayLease> {
  const lines: Record<string, unknown>[] = [];
  logs.set(name, lines);
  const lease = await startRelayLease({
    url,
    instance: name,
    leaseMs: LEASE_MS,
    log: (entry) => lines.push(entry),
    onTaken: () => {},
  });
  leases.push(lease);
  return lease;
}

const taken = (name: string) => logs.get(name)?.filter((l) => /lease taken/.test(String(l.msg))) ?? [];

before(async () => {
  await ensureDatabase(url);
  await migrateDatabase(url, config.writer.migrationsDir);
  sql = postgres(url, { max: 1, onnotice: () => {} });
});

after(async () => {
  if (frozen && frozen.exitCode === null) {
    frozen.kill("SIGCONT");
    frozen.kill("SIGKILL");
  }
  for (const lease of leases) await lease.stop();
  await sql.end();
  await cleanUp(config);
});

test("of two writers exactly one holds the lease, and the table names it", async () => {
  const a = await join("writer-a");
  const b = await join("writer-b");
  assert.equal(a.held(), true);
  assert.equal(b.held(), false);
  const [row] = await sql<{ holder: string }[]>`select holder from relay_lease where id = 1`;
  assert.equal(row?.holder, "writer-a");
});

test("a graceful stop hands the lease to the other writer", async () => {
  const [a, b] = leases as [RelayLease, RelayLease];
  await a.stop();
  await eventually("writer-b to take the lease", async () => (b.held() ? true : undefined), 5 * LEASE_MS);
  assert.equal(taken("writer-b")[0]?.previous_holder, "writer-a");
});

test("a holder whose session dies loses the lease, another takes it and reports the gap", async () => {
  const b = leases[1] as RelayLease;
  const c = await join("writer-c");
  assert.equal(c.held(), false);
  const killed = await sql`
    select pg_terminate_backend(pid) from pg_locks
    where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`;
  assert.equal(killed.length, 1, "one session holds the lease");
  await eventually("writer-c to take the lease", async () => (c.held() ? true : undefined), 5 * LEASE_MS);
  await eventually("writer-b to notice it lost the lease", async () => (b.held() ? undefined : true), 5 * LEASE_MS);
  const report = taken("writer-c")[0];
  assert.equal(report?.previous_holder, "writer-b");
  assert.equal(typeof report?.seconds_without_relay, "number");
  assert.ok(logs.get("writer-b")?.some((l) => /lease lost/.test(String(l.msg))));
});

test("a frozen holder (SIGSTOP) loses the lease after RELAY_LEASE_MS, and a writer takes it", async () => {
  for (const lease of leases.splice(0)) await lease.stop();
  const fixture = path.resolve(import.meta.dirname, "../../tests/support/fixture-lease.ts");
  frozen = spawn(process.execPath, [fixture], {
    env: { ...process.env, LEASE_URL: url, LEASE_MS: String(LEASE_MS) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const child = frozen;
  await new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      if (line === "held") resolve();
    });
    child.once("exit", (code) => reject(new Error(`the fixture exited with ${code}`)));
  });
  const d = await join("writer-d");
  assert.equal(d.held(), false, "the fixture holds it");
  child.kill("SIGSTOP");
  await eventually(
    "writer-d to take the frozen holder's lease",
    async () => (d.held() ? true : undefined),
    10 * LEASE_MS,
  );
  assert.match(String(taken("writer-d")[0]?.previous_holder), /^fixture:/);
});

test("a holder whose relay cannot publish gives the lease to another writer, never to nobody", async () => {
  frozen?.kill("SIGCONT");
  frozen?.kill("SIGKILL");
  for (const lease of leases.splice(0)) await lease.stop();
  const e = await join("writer-e");
  assert.equal(e.held(), true);
  await e.yieldLease("test: a lone writer");
  assert.equal(e.held(), true, "with no other writer, it keeps the lease");
  const f = await join("writer-f");
  assert.equal(f.held(), false);
  await e.yieldLease("test: cannot publish");
  assert.equal(e.held(), false);
  await eventually("writer-f to take the given-up lease", async () => (f.held() ? true : undefined), 5 * LEASE_MS);
  assert.ok(logs.get("writer-e")?.some((l) => /lease lost/.test(String(l.msg)) && /given up/.test(String(l.reason))));
});
