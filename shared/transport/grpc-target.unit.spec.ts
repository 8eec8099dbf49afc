// WRITER_ADDRESS and READER_ADDRESS: one address, or several IPs the gateway balances across.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../platform/config.ts";
import { grpcTarget } from "./grpc.ts";

test("one address is the target itself; a DNS name resolves to all its records", () => {
  assert.equal(grpcTarget("127.0.0.1:28051"), "127.0.0.1:28051");
  assert.equal(grpcTarget("writer:50051"), "writer:50051");
});

test("several IPs are one ipv4: or ipv6: list, spaces and empty entries ignored", () => {
  assert.equal(grpcTarget("127.0.0.1:1, 127.0.0.1:2,"), "ipv4:127.0.0.1:1,127.0.0.1:2");
  assert.equal(grpcTarget("[::1]:1,[::1]:2"), "ipv6:[::1]:1,[::1]:2");
});

test("an empty list, names in a list, mixed families or a missing port are configuration errors", () => {
  for (const address of ["", " , ", "writer-1:1,writer-2:1", "127.0.0.1:1,[::1]:2", "127.0.0.1,127.0.0.2:1"]) {
    assert.throws(
      () => grpcTarget(address, "WRITER_ADDRESS"),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.match(error.message, /^WRITER_ADDRESS/);
        return true;
      },
    );
  }
});
