// A Kafka cluster id the storage format command accepts: one starting with "-" reads as an option
// (the fault suite's stack failed to format once, "argument --cluster-id: expected one argument").
import assert from "node:assert/strict";
import { test } from "node:test";
import { randomClusterId } from "#infra/kafka/kafka.ts";

test("a random cluster id is 22 URL-safe base64 characters and never starts with '-'", () => {
  // 1 in 64 plain draws starts with "-": 4000 draws without one would be chance once in 10^27.
  const ids = Array.from({ length: 4000 }, randomClusterId);
  for (const id of ids) {
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  }
  assert.equal(new Set(ids).size, ids.length);
});
