// Who may do what, end to end on a system of its own: the README's policy table row by row (each
// allowed and refused), tokens the gateway must refuse and why, the caller and correlation id every
// event records (an idempotent replay never changes them) and `npm run audit`, and tiers that serve
// only calls carrying the gateway's internal credential; rate limits through a gateway of small budgets.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { importJWK, SignJWT } from "jose";
import postgres from "postgres";
import { CATALOG_ADMIN } from "#functions/products/product-api.ts";
import { USER_ADMIN } from "#functions/users/user-api.ts";
import { ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { mintToken } from "#scripts/local-token.ts";
import { startGateway } from "#services/gateway/gateway.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { ensureKeyPair, keyPairFiles, localIssuerFiles, readPrivateJwk } from "#shared/platform/local-keys.ts";
import { internalCredential, internalKeyFiles } from "#shared/transport/internal-credential.ts";
import { headersFor } from "../support/auth.ts";
import { callJson, type Json } from "../support/http.ts";
import { runScript } from "../support/processes.ts";
import { eventually, runId, startSystem, type TestSystem, testLog } from "../support/system.ts";

let system: TestSystem | undefined;
let base = "";
/** Keys of signers the system does not trust. */
const strangers = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-access-keys-"));
const tag = `acc${runId.slice(-6)}${Date.now().toString(36)}`;
let counter = 0;
const unique = (stem: string) => `${tag}-${stem}-${++counter}`;

before(async () => {
  system = await startSystem("access");
  base = system.url;
});

after(async () => {
  await system?.stop();
  fs.rmSync(strangers, { recursive: true, force: true });
});

function theSystem(): TestSystem {
  assert.ok(system, "started in before()");
  return system;
}

/** A call as `who`: headers of a token, or none at all. */
const as = (who: Record<string, string> | "anonymous") => ({
  call: (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Json> =>
    callJson(base, method, path, body, { ...(who === "anonymous" ? { authorization: "" } : who), ...headers }),
});

const product = () => ({ sku: unique("sku"), name: "Guarded Widget", priceCents: 100, currency: "EUR" });
const user = () => ({ email: `${unique("u")}@example.com`, name: "Guarded User" });

function status(answer: Json, expected: number, what: string): Json {
  assert.equal(answer.status, expected, `${what}: ${JSON.stringify(answer.body)}`);
  return answer;
}

describe("the policy table, row by row", () => {
  test("products: reading and searching are public; creating, changing and deleting need catalog-admin", async () => {
    const anonymous = as("anonymous");
    const nobody = as(await headersFor({ subject: unique("nobody") }));
    const userAdmin = as(await headersFor({ subject: unique("ua"), roles: [USER_ADMIN] }));
    const catalog = as(await headersFor({ subject: unique("ca"), roles: [CATALOG_ADMIN] }));

    const refused = status(await anonymous.call("POST", "/api/v1/products", product()), 401, "anonymous create");
    assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="cqrs-ts"');
    status(await nobody.call("POST", "/api/v1/products", product()), 403, "create without a role");
    status(await userAdmin.call("POST", "/api/v1/products", product()), 403, "create as user-admin");
    const created = status(await catalog.call("POST", "/api/v1/products", product()), 201, "create as catalog-admin");
    const path = `/api/v1/products/${String(created.body.id)}`;

    // Reads are public: no token, and no token checked (a bad one on a public route is ignored).
    await eventually("the product readable without a token", async () =>
      (await anonymous.call("GET", path)).status === 200 ? true : undefined,
    );
    status(await anonymous.call("GET", `/api/v1/products?q=Guarded`), 200, "anonymous search");
    status(await anonymous.call("GET", "/api/v1/product-tags"), 200, "anonymous tags");

    for (const [who, caller, expected] of [
      ["anonymous", anonymous, 401],
      ["no role", nobody, 403],
      ["user-admin", userAdmin, 403],
      ["catalog-admin", catalog, 200],
    ] as const) {
      status(await caller.call("PATCH", path, { stock: 3 }), expected, `update as ${who}`);
    }
    for (const [who, caller, expected] of [
      ["anonymous", anonymous, 401],
      ["no role", nobody, 403],
      ["catalog-admin", catalog, 204],
    ] as const) {
      status(await caller.call("DELETE", path), expected, `delete as ${who}`);
    }
  });

  test("users: anyone with a token has one user of their own; listing, others' users and deleting need user-admin", async () => {
    const aliceSubject = unique("alice");
    const alice = as(await headersFor({ subject: aliceSubject }));
    const bob = as(await headersFor({ subject: unique("bob") }));
    const admin = as(await headersFor({ subject: unique("admin"), roles: [USER_ADMIN] }));
    const catalog = as(await headersFor({ subject: unique("ca"), roles: [CATALOG_ADMIN] }));
    const anonymous = as("anonymous");

    status(await anonymous.call("POST", "/api/v1/users", user()), 401, "anonymous create");
    status(await alice.call("POST", "/api/v1/users", { ...user(), subject: unique("x") }), 403, "for another subject");
    const mine = status(await alice.call("POST", "/api/v1/users", user()), 201, "alice creates her own");
    const again = status(await alice.call("POST", "/api/v1/users", user()), 409, "alice's second user");
    assert.deepEqual(
      (again.body.errors as { path: string }[]).map((error) => error.path),
      ["subject"],
    );
    const path = `/api/v1/users/${String(mine.body.id)}`;
    const read = await eventually("alice's user in the read model", async () => {
      const answer = await alice.call("GET", path, undefined, { "X-Min-Version": "1" });
      return answer.status === 200 ? answer : undefined;
    });
    assert.equal(read.body.subject, aliceSubject, "it is hers");

    for (const [who, caller, expected] of [
      ["anonymous", anonymous, 401],
      ["bob (another caller)", bob, 404],
      ["catalog-admin (no user role)", catalog, 404],
      ["user-admin", admin, 200],
      ["alice", alice, 200],
    ] as const) {
      status(await caller.call("GET", path), expected, `read alice's user as ${who}`);
    }
    status(await bob.call("PATCH", path, { name: "Not Bob's" }), 404, "bob changes alice's");
    status(await alice.call("PATCH", path, { name: "Alice Changed" }), 200, "alice changes hers");
    status(await admin.call("PATCH", path, { name: "Admin Changed" }), 200, "user-admin changes hers");

    status(await alice.call("GET", "/api/v1/users"), 403, "alice lists users");
    status(await admin.call("GET", "/api/v1/users"), 200, "user-admin lists users");

    const forCarol = { ...user(), subject: unique("carol") };
    const carols = status(await admin.call("POST", "/api/v1/users", forCarol), 201, "user-admin creates carol's");
    const nobodys = status(await admin.call("POST", "/api/v1/users", user()), 201, "user-admin creates nobody's");
    const carolRead = await eventually("carol's user", async () => {
      const answer = await admin.call("GET", `/api/v1/users/${String(carols.body.id)}`);
      return answer.status === 200 ? answer : undefined;
    });
    assert.equal(carolRead.body.subject, forCarol.subject);
    const nobodyRead = await eventually("nobody's user", async () => {
      const answer = await admin.call("GET", `/api/v1/users/${String(nobodys.body.id)}`);
      return answer.status === 200 ? answer : undefined;
    });
    assert.equal("subject" in nobodyRead.body, false, "a user of nobody's has no subject");

    status(await alice.call("DELETE", path), 403, "alice deletes hers (needs user-admin)");
    status(await admin.call("DELETE", path), 204, "user-admin deletes it");
  });
});

describe("tokens the gateway refuses, and why", () => {
  const create = (authorization: string) => callJson(base, "POST", "/api/v1/products", product(), { authorization });

  async function signed(claims: Record<string, unknown>, change: (jwt: SignJWT) => SignJWT = (jwt) => jwt) {
    const jwk = readPrivateJwk(ensureKeyPair(localIssuerFiles(theSystem().config.auth.keysDir)).privateFile);
    const jwt = new SignJWT({ roles: [CATALOG_ADMIN], ...claims })
      .setProtectedHeader({ alg: "EdDSA", kid: jwk.kid })
      .setIssuer(theSystem().config.auth.issuer)
      .setAudience(theSystem().config.auth.audience)
      .setSubject("someone")
      .setIssuedAt()
      .setExpirationTime("10m");
    return `Bearer ${await change(jwt).sign(await importJWK(jwk, "EdDSA"))}`;
  }

  test("each is a 401 whose WWW-Authenticate names invalid_token and the reason", async () => {
    const now = Math.floor(Date.now() / 1000);
    const stranger = keyPairFiles(strangers, "stranger");
    const strangerJwk = readPrivateJwk(ensureKeyPair(stranger).privateFile);
    const cases: [string, string, RegExp][] = [
      ["expired", await signed({}, (jwt) => jwt.setIssuedAt(now - 7200).setExpirationTime(now - 3600)), /expired/],
      ["not yet valid", await signed({}, (jwt) => jwt.setNotBefore(now + 3600)), /nbf/],
      ["another audience", await signed({}, (jwt) => jwt.setAudience("someone-else")), /aud/],
      ["another issuer", await signed({}, (jwt) => jwt.setIssuer("https://evil.example")), /iss/],
      [
        "a key the gateway does not know",
        `Bearer ${await new SignJWT({ roles: [CATALOG_ADMIN] })
          .setProtectedHeader({ alg: "EdDSA", kid: strangerJwk.kid })
          .setIssuer(theSystem().config.auth.issuer)
          .setAudience(theSystem().config.auth.audience)
          .setSubject("someone")
          .setExpirationTime("10m")
          .sign(await importJWK(strangerJwk, "EdDSA"))}`,
        /no key/,
      ],
      [
        "unsigned (alg none)",
        `Bearer ${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(
          JSON.stringify({ sub: "x", exp: now + 600, iss: theSystem().config.auth.issuer }),
        ).toString("base64url")}.`,
        /algorithm|not a valid/,
      ],
      ["not a JWT", "Bearer abc.def", /not a valid JWT/],
    ];
    for (const [what, authorization, reason] of cases) {
      const answer = status(await create(authorization), 401, what);
      const challenge = answer.headers.get("www-authenticate") ?? "";
      assert.match(challenge, /^Bearer realm="cqrs-ts", error="invalid_token", error_description="/, what);
      assert.match(challenge, reason, what);
    }
    const basic = status(await create("Basic dXNlcjpwYXNz"), 401, "another scheme");
    assert.match(basic.headers.get("www-authenticate") ?? "", /error="invalid_request"/);
  });
});

describe("who caused each event", () => {
  test("every event records its actor and correlation id; a replay with the same key records nothing new", async () => {
    const firstSubject = unique("first");
    const first = await headersFor({ subject: firstSubject, roles: [CATALOG_ADMIN] });
    const secondSubject = unique("second");
    const second = await headersFor({ subject: secondSubject, roles: [CATALOG_ADMIN] });
    const key = unique("key");
    const body = product();
    const correlation = unique("corr");
    const created = await callJson(base, "POST", "/api/v1/products", body, {
      ...first,
      "Idempotency-Key": key,
      "X-Correlation-Id": correlation,
    });
    status(created, 201, "create");
    const replayed = await callJson(base, "POST", "/api/v1/products", body, { ...second, "Idempotency-Key": key });
    status(replayed, 201, "replay");
    assert.deepEqual(replayed.body, created.body, "the first answer");
    const id = String(created.body.id);
    status(
      await callJson(base, "PATCH", `/api/v1/products/${id}`, { stock: 9 }, second),
      200,
      "an update by the second caller",
    );

    const sql = postgres(theSystem().config.postgres.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql<{ version: number; envelope: { metadata: Record<string, string> } }[]>`
        select version, envelope from outbox where aggregate_id = ${id} order by version`;
      assert.deepEqual(
        rows.map((row) => [row.version, row.envelope.metadata.actor]),
        [
          [1, firstSubject],
          [2, secondSubject],
        ],
      );
      assert.equal(rows[0]?.envelope.metadata.correlationId, correlation);
      assert.match(rows[1]?.envelope.metadata.correlationId ?? "", /^[0-9a-f-]{36}$/, "one made for a command without");
    } finally {
      await sql.end({ timeout: 2 });
    }

    const audit = await runScript("scripts/audit.ts", ["product", id], {
      env: { POSTGRES_URL: theSystem().config.postgres.url },
      limitMs: 60_000,
    });
    assert.equal(audit.code, 0, audit.output);
    const lines = audit.output.trim().split("\n");
    assert.match(lines[0] ?? "", /version\s+event\s+when\s+actor\s+correlation id/);
    assert.match(lines[1] ?? "", new RegExp(`^\\s+1\\s+ProductCreated\\s+\\S+\\s+${firstSubject}\\s+${correlation}$`));
    assert.match(lines[2] ?? "", /^\s+2\s+ProductUpdated\s+/);
    assert.equal(lines.length, 3, audit.output);
  });
});

describe("the tiers trust only the gateway", () => {
  const read = (metadata: grpc.Metadata): Promise<grpc.status> =>
    new Promise((resolve) => {
      const client = new grpc.Client(`127.0.0.1:${theSystem().reader.grpcPort}`, grpc.credentials.createInsecure());
      client.makeUnaryRequest(
        ReaderServiceService.listProductTags.path,
        ReaderServiceService.listProductTags.requestSerialize,
        ReaderServiceService.listProductTags.responseDeserialize,
        { limit: 1 },
        metadata,
        { deadline: Date.now() + 5000 },
        (error) => {
          client.close();
          resolve(error ? error.code : grpc.status.OK);
        },
      );
    });

  test("a direct call without the internal credential, or with one signed by another key, is refused", async () => {
    assert.equal(await read(new grpc.Metadata()), grpc.status.UNAUTHENTICATED, "without");
    const forged = keyPairFiles(strangers, "forged");
    const impostor = await internalCredential(ensureKeyPair(forged).privateFile, "impostor");
    try {
      assert.equal(await read(impostor.attach(new grpc.Metadata())), grpc.status.UNAUTHENTICATED, "forged");
    } finally {
      impostor.stop();
    }
    // A user's token is not an internal credential either.
    const userToken = await mintToken(theSystem().config, { subject: "x", roles: [CATALOG_ADMIN] });
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${userToken}`);
    assert.equal(await read(metadata), grpc.status.UNAUTHENTICATED, "a user's token");
  });

  test("with the gateway's credential the same call is served", async () => {
    const credential = await internalCredential(internalKeyFiles(theSystem().config.auth, true).privateFile, "test");
    try {
      assert.equal(await read(credential.attach(new grpc.Metadata())), grpc.status.OK);
    } finally {
      credential.stop();
    }
  });
});

describe("rate limits through a gateway with small budgets", () => {
  test("reads by address, commands by subject; a spent budget is a 429 with Retry-After and RateLimit", async () => {
    const { config, writer, reader } = theSystem();
    const small = await startGateway(
      loadConfig({
        ...process.env,
        GATEWAY_PORT: "0",
        GATEWAY_METRICS_PORT: "0",
        REDIS_KEY_PREFIX: `${config.redis.keyPrefix}small${Date.now()}:`,
        RATE_LIMIT_READS: "3",
        RATE_LIMIT_COMMANDS: "2",
        WRITER_ADDRESS: `127.0.0.1:${writer.grpcPort}`,
        READER_ADDRESS: `127.0.0.1:${reader.grpcPort}`,
      }),
      testLog,
    );
    try {
      const read = () => callJson(small.url, "GET", "/api/v1/product-tags", undefined, { authorization: "" });
      const reads = [await read(), await read(), await read()];
      assert.deepEqual(
        reads.map((answer) => answer.status),
        [200, 200, 200],
      );
      assert.equal(reads[0]?.headers.get("ratelimit-policy"), '"reads";q=3;w=60');
      assert.match(reads[2]?.headers.get("ratelimit") ?? "", /^"reads";r=0;t=\d+$/);
      const spent = status(await read(), 429, "the fourth read");
      assert.equal(spent.headers.get("content-type"), "application/problem+json");
      assert.ok(Number(spent.headers.get("retry-after")) >= 1, "Retry-After");
      assert.match(spent.headers.get("ratelimit") ?? "", /^"reads";r=0;t=\d+$/);

      const alice = await headersFor({ subject: unique("alice"), roles: [CATALOG_ADMIN] });
      const bob = await headersFor({ subject: unique("bob"), roles: [CATALOG_ADMIN] });
      const create = (who: Record<string, string>) => callJson(small.url, "POST", "/api/v1/products", product(), who);
      assert.deepEqual(
        [(await create(alice)).status, (await create(alice)).status, (await create(alice)).status],
        [201, 201, 429],
        "alice's two commands",
      );
      status(await create(bob), 201, "bob's budget is his own");

      // A request whose token fails draws on its address's budget: guessing tokens is limited too.
      const forged = { authorization: "Bearer not.a.token" };
      const guesses = [await create(forged), await create(forged), await create(forged)];
      assert.deepEqual(
        guesses.map((answer) => answer.status),
        [401, 401, 429],
      );
    } finally {
      await small.stop();
    }
  });
});
