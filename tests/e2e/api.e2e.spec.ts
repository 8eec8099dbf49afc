// The API's cross-cutting promises, through the gateway: idempotency keys on POST, conditional
// reads (ETag / If-None-Match), and read-your-writes with X-Min-Version.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import postgres from "postgres";
import { callJson, type Json } from "../support/http.ts";
import { runId, startSystem, type TestSystem } from "../support/system.ts";

let system: TestSystem | undefined;
let base = process.env.E2E_GATEWAY_URL ?? "";
const tag = `api${runId.slice(-6)}${Date.now().toString(36)}`;
let counter = 0;
const sku = () => `${tag}-${++counter}`;

before(async () => {
  if (!base) {
    system = await startSystem("api_e2e");
    base = system.url;
  }
});

let sql: postgres.Sql | undefined;
/** Tests that look into the writer's database: a remote gateway (E2E_GATEWAY_URL) does not expose it. */
const needsDatabase = { skip: process.env.E2E_GATEWAY_URL ? "needs the writer's database" : false };
const sqlClient = () => {
  assert.ok(system, "the system this run started");
  sql ??= postgres(system.config.postgres.url, { max: 1, onnotice: () => {} });
  return sql;
};

after(async () => {
  await sql?.end({ timeout: 2 });
  await system?.stop();
});

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Json> =>
  callJson(base, method, path, body, headers);

const product = (overrides: Record<string, unknown> = {}) => ({
  sku: sku(),
  name: "Idempotent Widget",
  priceCents: 100,
  currency: "EUR",
  tags: [tag],
  ...overrides,
});

describe("Idempotency-Key", () => {
  test("a repeat with the same key and body returns the first response and writes nothing", async () => {
    const key = `k-${tag}-1`;
    const body = product();
    const first = await call("POST", "/api/v1/products", body, { "Idempotency-Key": key });
    assert.equal(first.status, 201);
    const second = await call("POST", "/api/v1/products", body, { "Idempotency-Key": key });
    assert.equal(second.status, 201);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers.get("location"), first.headers.get("location"));
    // Without the key the same body is a new command, and the sku is taken by the first one only.
    const third = await call("POST", "/api/v1/products", body);
    assert.equal(third.status, 409);
  });

  test("a repeat writes nothing: one outbox event, however many repeats", needsDatabase, async () => {
    const database = sqlClient();
    const key = `k-${tag}-outbox`;
    const body = product();
    const first = await call("POST", "/api/v1/products", body, { "Idempotency-Key": key });
    assert.equal(first.status, 201);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual((await call("POST", "/api/v1/products", body, { "Idempotency-Key": key })).body, first.body);
    }
    const [events] = await database<{ n: string }[]>`
      select count(*) as n from outbox where aggregate_id = ${String(first.body.id)}`;
    assert.equal(Number(events?.n), 1, "one create event, whatever the repeats");
  });

  test(
    "an expired key is a new command: the repeat conflicts on the sku instead of replaying",
    needsDatabase,
    async () => {
      const database = sqlClient();
      const key = `k-${tag}-expiry`;
      const body = product();
      assert.equal((await call("POST", "/api/v1/products", body, { "Idempotency-Key": key })).status, 201);
      // IDEMPOTENCY_TTL_HOURS later, as far as the stored key knows.
      await database`update idempotency_keys set expires_at = now() - interval '1 second' where key = ${key}`;
      const repeat = await call("POST", "/api/v1/products", body, { "Idempotency-Key": key });
      assert.equal(repeat.status, 409, JSON.stringify(repeat.body));
      assert.match(String(repeat.body.type), /conflict$/);
    },
  );

  test("POST /api/v1/users honours the key too", async () => {
    const key = `k-${tag}-user`;
    const user = { email: `idem-${tag}@example.com`, name: "Idempotent User" };
    const first = await call("POST", "/api/v1/users", user, { "Idempotency-Key": key });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const second = await call("POST", "/api/v1/users", user, { "Idempotency-Key": key });
    assert.equal(second.status, 201);
    assert.deepEqual(second.body, first.body);
    assert.equal((await call("POST", "/api/v1/users", user)).status, 409, "the email is taken, by the first only");
    const other = await call("POST", "/api/v1/users", { ...user, name: "Someone Else" }, { "Idempotency-Key": key });
    assert.equal(other.status, 422);
  });

  test("the same key with a different body is a 422", async () => {
    const key = `k-${tag}-2`;
    assert.equal((await call("POST", "/api/v1/products", product(), { "Idempotency-Key": key })).status, 201);
    const other = await call("POST", "/api/v1/products", product(), { "Idempotency-Key": key });
    assert.equal(other.status, 422);
    assert.equal(other.headers.get("content-type"), "application/problem+json");
  });

  test("racing repeats create one product: each answer is the first response or 409 in progress", async () => {
    const key = `k-${tag}-3`;
    const body = product();
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call("POST", "/api/v1/products", body, { "Idempotency-Key": key })),
    );
    const created = answers.filter((a) => a.status === 201);
    assert.ok(created.length >= 1, JSON.stringify(answers.map((a) => a.status)));
    assert.equal(new Set(created.map((a) => a.body.id)).size, 1, "one product, one id");
    for (const answer of answers.filter((a) => a.status !== 201)) {
      assert.equal(answer.status, 409);
      assert.equal(answer.headers.get("retry-after"), "1");
    }
    const again = await call("POST", "/api/v1/products", body, { "Idempotency-Key": key });
    assert.deepEqual(again.body, created[0]?.body);
  });

  test("a key longer than 255 characters is a 400 naming Idempotency-Key", async () => {
    const response = await call("POST", "/api/v1/products", product(), { "Idempotency-Key": "k".repeat(256) });
    assert.equal(response.status, 400);
    assert.deepEqual(
      (response.body.errors as { path: string }[]).map((e) => e.path),
      ["Idempotency-Key"],
    );
  });
});

describe("conditional and read-your-writes reads", () => {
  test("If-None-Match with the current version is a 304; after an update it is a 200 again", async () => {
    const created = await call("POST", "/api/v1/products", product());
    const id = String(created.body.id);
    const first = await call("GET", `/api/v1/products/${id}`, undefined, { "X-Min-Version": "1" });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("etag"), '"1"');
    const notModified = await fetch(`${base}/api/v1/products/${id}`, { headers: { "If-None-Match": '"1"' } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get("etag"), '"1"');
    assert.equal((await call("PATCH", `/api/v1/products/${id}`, { stock: 3 })).status, 200);
    const changed = await call("GET", `/api/v1/products/${id}`, undefined, {
      "If-None-Match": '"1"',
      "X-Min-Version": "2",
    });
    assert.equal(changed.status, 200);
    assert.equal(changed.headers.get("etag"), '"2"');
  });

  test("X-Min-Version: create, update and read back your own write, 200 times in a row", async () => {
    for (let i = 0; i < 200; i++) {
      const created = await call("POST", "/api/v1/products", product({ stock: 0 }));
      assert.equal(created.status, 201);
      const id = String(created.body.id);
      const updated = await call("PATCH", `/api/v1/products/${id}`, { stock: i + 1 });
      assert.equal(updated.status, 200);
      const read = await call("GET", `/api/v1/products/${id}`, undefined, {
        "X-Min-Version": String(updated.body.version),
      });
      assert.equal(read.status, 200, `iteration ${i}: ${JSON.stringify(read.body)}`);
      assert.equal(read.body.version, updated.body.version);
      assert.equal(read.body.stock, i + 1, `iteration ${i} sees its own write`);
    }
  });

  test("a version the read model never reaches is a 503 with Retry-After after the bound", async () => {
    const created = await call("POST", "/api/v1/products", product());
    const read = await call("GET", `/api/v1/products/${created.body.id}`, undefined, { "X-Min-Version": "99" });
    assert.equal(read.status, 503);
    assert.equal(read.headers.get("retry-after"), "1");
  });

  test("X-Min-Version that is not a positive integer is a 400 naming it", async () => {
    for (const value of ["0", "-1", "two", "1.5"]) {
      const read = await call("GET", "/api/v1/products/0190d3f0-0000-7000-8000-000000000000", undefined, {
        "X-Min-Version": value,
      });
      assert.equal(read.status, 400, value);
      assert.deepEqual(
        (read.body.errors as { path: string }[]).map((e) => e.path),
        ["X-Min-Version"],
      );
    }
  });
});

describe("methods a path does not serve", () => {
  test("TRACE (which fetch cannot send) is a 405 with Allow, over a real socket", async () => {
    const answer = await new Promise<{ status: number; allow: string | undefined; type: string | undefined }>(
      (resolve, reject) => {
        const sent = request(`${base}/api/v1/products`, { method: "TRACE" }, (response) => {
          response.resume();
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              allow: response.headers.allow,
              type: response.headers["content-type"],
            }),
          );
        });
        sent.on("error", reject);
        sent.end();
      },
    );
    assert.deepEqual(answer, { status: 405, allow: "GET, HEAD, OPTIONS, POST", type: "application/problem+json" });
  });
});
