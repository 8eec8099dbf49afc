// Several replicas behind one address list: the gateway's client spreads calls over every replica
// that answers and, when one dies, sends every new call to the others.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as v from "valibot";
import { eventually } from "#tests/support/wait.ts";
import { createLog } from "../platform/log.ts";
import { callUnary, connectClient, listen, serveUnary, type UnaryMethod } from "./grpc.ts";

const method: UnaryMethod<object, { replica: string }> = {
  path: "/t.T/Which",
  requestSerialize: (value) => Buffer.from(JSON.stringify(value)),
  requestDeserialize: (buffer) => JSON.parse(buffer.toString()) as object,
  responseSerialize: (value) => Buffer.from(JSON.stringify(value)),
  responseDeserialize: (buffer) => JSON.parse(buffer.toString()) as { replica: string },
};

const servers = new Map<string, grpc.Server>();
let client: grpc.Client;

before(async () => {
  const log = createLog("test", () => {});
  const ports: number[] = [];
  for (const replica of ["a", "b"]) {
    const server = new grpc.Server();
    serveUnary(server, method, v.object({}), async () => ({ replica }), log);
    ports.push(await listen(server, "127.0.0.1", 0));
    servers.set(replica, server);
  }
  client = connectClient(ports.map((port) => `127.0.0.1:${port}`).join(","), "WRITER_ADDRESS");
});

after(() => {
  client.close();
  for (const server of servers.values()) server.forceShutdown();
});

const which = () => callUnary(client, method, {}, 2000).then((response) => response.replica);

test("calls go to both replicas in turn", async () => {
  // round_robin starts using a replica once its connection is up: wait until both have answered.
  await eventually("both replicas answering", async () => {
    const seen = new Set(await Promise.all(Array.from({ length: 8 }, which)));
    return seen.size === 2 ? true : undefined;
  });
  const answers = [];
  for (let i = 0; i < 20; i += 1) answers.push(await which());
  const counts = { a: answers.filter((r) => r === "a").length, b: answers.filter((r) => r === "b").length };
  assert.deepEqual(counts, { a: 10, b: 10 }, answers.join(""));
});

test("when one replica dies, every new call is served by the other", async () => {
  servers.get("a")?.forceShutdown();
  // The client learns of the closed connection asynchronously; from then on it skips the replica.
  await eventually("the client to skip the dead replica", async () => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => which().catch(() => "failed")));
    return answers.every((r) => r === "b") ? true : undefined;
  });
  const answers = [];
  for (let i = 0; i < 20; i += 1) answers.push(await which());
  assert.deepEqual(new Set(answers), new Set(["b"]));
});
