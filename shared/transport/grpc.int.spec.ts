// The gRPC shim's error mapping with the drivers' real failures: a PostgreSQL or MongoDB that does
// not answer is UNAVAILABLE (503 with Retry-After at the gateway), a bug is INTERNAL (500), and
// every call logs one line.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { MongoClient } from "mongodb";
import postgres from "postgres";
import * as v from "valibot";
import { freePort } from "#tests/support/system.ts";
import { DomainError, notFound } from "../platform/errors.ts";
import { createLog } from "../platform/log.ts";
import { callUnary, connectClient, listen, serveUnary, type UnaryMethod } from "./grpc.ts";
import { problemFor, problemResponse } from "./problem.ts";

const json = <T>(path: string): UnaryMethod<T, T> => ({
  path,
  requestSerialize: (value) => Buffer.from(JSON.stringify(value)),
  requestDeserialize: (buffer) => JSON.parse(buffer.toString()) as T,
  responseSerialize: (value) => Buffer.from(JSON.stringify(value)),
  responseDeserialize: (buffer) => JSON.parse(buffer.toString()) as T,
});

const Empty = v.object({});
const lines: Record<string, unknown>[] = [];
let server: grpc.Server;
let client: grpc.Client;
let closedPort: number;

before(async () => {
  // Nothing listens here: exactly what a stopped database looks like to a driver.
  closedPort = await freePort();
  server = new grpc.Server();
  // The service's own log, its lines parsed back: what an operator reads (with LOG_LEVEL=debug).
  const log = createLog("test", (line) => lines.push(JSON.parse(line) as Record<string, unknown>), "debug");
  serveUnary(
    server,
    json("/t.T/Postgres"),
    Empty,
    async () => {
      const sql = postgres(`postgres://nobody@127.0.0.1:${closedPort}/none`, { connect_timeout: 5, max: 1 });
      try {
        await sql`select 1`;
        return {};
      } finally {
        await sql.end({ timeout: 1 });
      }
    },
    log,
  );
  serveUnary(
    server,
    json("/t.T/Mongo"),
    Empty,
    async () => {
      const mongo = new MongoClient(`mongodb://127.0.0.1:${closedPort}/`, { serverSelectionTimeoutMS: 300 });
      try {
        await mongo.db("none").collection("none").findOne({});
        return {};
      } finally {
        await mongo.close();
      }
    },
    log,
  );
  serveUnary(server, json("/t.T/Bug"), Empty, async () => JSON.parse("{") as object, log);
  serveUnary(server, json("/t.T/Missing"), Empty, async () => Promise.reject(notFound("no such thing")), log);
  serveUnary(server, json("/t.T/Fine"), Empty, async () => ({}), log);
  const port = await listen(server, "127.0.0.1", 0);
  client = connectClient(`127.0.0.1:${port}`);
});

after(() => {
  client.close();
  server.forceShutdown();
});

const failure = async (path: string) => {
  const error = await callUnary(client, json(path), {}, 10_000).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof DomainError, `${path} failed with a domain error: ${String(error)}`);
  return error;
};

test("a PostgreSQL that does not answer is unavailable: 503 with Retry-After", async () => {
  const error = await failure("/t.T/Postgres");
  assert.equal(error.code, "unavailable");
  const response = problemResponse(problemFor(error));
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "1");
  const line = lines.find((l) => l.rpc === "/t.T/Postgres");
  assert.equal(line?.level, "warn");
  assert.equal(line?.code, "UNAVAILABLE");
  assert.match(String(line?.err), /ECONNREFUSED/);
});

test("a MongoDB that cannot be reached is unavailable", async () => {
  const error = await failure("/t.T/Mongo");
  assert.equal(error.code, "unavailable");
  assert.equal(lines.find((l) => l.rpc === "/t.T/Mongo")?.code, "UNAVAILABLE");
});

test("a bug is internal, with no internals in the answer, and logged as an error", async () => {
  const error = await failure("/t.T/Bug");
  assert.equal(error.code, "internal");
  assert.doesNotMatch(error.message, /JSON/);
  const line = lines.find((l) => l.rpc === "/t.T/Bug");
  assert.equal(line?.level, "error");
  // The error itself, not its text: its type, message and the stack that leads to the bug.
  const err = line?.err as { type?: string; message?: string; stack?: string } | undefined;
  assert.equal(err?.type, "SyntaxError");
  assert.match(err?.stack ?? "", /SyntaxError[\s\S]*\n\s+at /);
});

test("domain errors keep their code; every call logs one line with its duration, at debug if it answered OK", async () => {
  assert.equal((await failure("/t.T/Missing")).code, "not_found");
  await callUnary(client, json("/t.T/Fine"), {}, 10_000);
  const fine = lines.filter((l) => l.rpc === "/t.T/Fine");
  assert.equal(fine.length, 1);
  assert.equal(fine[0]?.level, "debug");
  assert.equal(lines.find((l) => l.rpc === "/t.T/Missing")?.level, "info");
  assert.equal(fine[0]?.code, "OK");
  assert.equal(typeof fine[0]?.duration_ms, "number");
  assert.equal(lines.find((l) => l.rpc === "/t.T/Missing")?.code, "NOT_FOUND");
});
