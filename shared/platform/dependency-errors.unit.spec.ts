// Which driver errors count as a dependency being down (503) rather than a bug (500).
import assert from "node:assert/strict";
import { test } from "node:test";
import { MongoNetworkError, MongoServerError } from "mongodb";
import { describeError, isDependencyDown } from "./dependency-errors.ts";

const coded = (code: string | number, message = String(code)) => Object.assign(new Error(message), { code });

test("socket, postgres.js and SQLSTATE codes count anywhere in the cause chain", () => {
  assert.ok(isDependencyDown(new Error("query failed", { cause: coded("ECONNREFUSED") })));
  assert.ok(isDependencyDown(coded("CONNECTION_CLOSED")));
  assert.ok(isDependencyDown(coded("57P01")), "admin shutdown");
  assert.ok(isDependencyDown(coded("08006")), "connection failure");
  assert.ok(isDependencyDown(new AggregateError([coded("ECONNREFUSED")], "")));
});

test("a protocol violation, a constraint, a plain error or a non-error is not an outage", () => {
  assert.ok(!isDependencyDown(coded("08P01")), "protocol_violation is a bug");
  assert.ok(!isDependencyDown(coded("23505")), "a unique violation");
  assert.ok(!isDependencyDown(coded(91)), "a numeric code outside the MongoDB driver means nothing here");
  assert.ok(!isDependencyDown(new Error("boom")));
  assert.ok(!isDependencyDown("ECONNREFUSED"), "only errors count");
});

test("MongoDB: network errors, and server errors the driver would retry", () => {
  assert.ok(isDependencyDown(new MongoNetworkError("connection reset")));
  assert.ok(isDependencyDown(new MongoServerError({ code: 91, errmsg: "shutdown in progress" })));
  assert.ok(isDependencyDown(new MongoServerError({ code: 189, errmsg: "primary stepped down" })));
  assert.ok(
    isDependencyDown(new MongoServerError({ code: 50, errmsg: "operation exceeded time limit" })),
    "a query past its maxTimeMS: the read model did not answer in time",
  );
  assert.ok(!isDependencyDown(new MongoServerError({ code: 11000, errmsg: "duplicate key" })), "a duplicate key");
  assert.ok(!isDependencyDown(new MongoServerError({ code: 2, errmsg: "bad value" })));
});

test("FerretDB: an InternalError saying its PostgreSQL does not answer, not any InternalError", () => {
  // The message FerretDB 1.24 sent when its PostgreSQL was stopped (Go frames shortened).
  const errmsg =
    "[opendb.go:110 pool.checkConnection] failed to connect to `user=postgres database=ferretdb`:\n" +
    "\t127.0.0.1:25432 (127.0.0.1): dial error: dial tcp 127.0.0.1:25432: connect: connection refused";
  assert.ok(isDependencyDown(new MongoServerError({ code: 1, codeName: "InternalError", errmsg })));
  assert.ok(
    !isDependencyDown(new MongoServerError({ code: 1, codeName: "InternalError", errmsg: "panic: slice bounds" })),
  );
  // Its PostgreSQL killed under a query (the fault suite's "kill postgres-read"); Go frames shortened.
  const killed =
    "[msg_find.go:356 handler.handleMaxTimeMSError] [collection.go:108 postgresql.(*collection).Query] " +
    "FATAL: terminating connection due to unexpected postmaster exit (SQLSTATE 57P01)";
  assert.ok(isDependencyDown(new MongoServerError({ code: 1, codeName: "InternalError", errmsg: killed })));
  const syntax = 'ERROR: syntax error at or near "x" (SQLSTATE 42601)';
  assert.ok(!isDependencyDown(new MongoServerError({ code: 1, codeName: "InternalError", errmsg: syntax })), "a bug");
});

test("describeError gives the first message in the chain, with its type and code", () => {
  assert.equal(
    describeError(new AggregateError([coded("ECONNREFUSED", "connect failed")], "")),
    "connect failed (ECONNREFUSED)",
  );
  assert.equal(
    describeError(coded("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:1")),
    "connect ECONNREFUSED 127.0.0.1:1",
  );
  assert.equal(describeError(new Error("plain")), "plain");
  assert.equal(describeError(new SyntaxError("bad JSON")), "SyntaxError: bad JSON");
  assert.equal(describeError("text"), "text");
});
