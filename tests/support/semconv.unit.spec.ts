// The reader of the pinned semantic conventions finds what the attribute test relies on.
import assert from "node:assert/strict";
import { test } from "node:test";
import { semanticConventions } from "./semconv.ts";

test("the pinned semantic conventions: keys, and the deprecated ones with their replacements", () => {
  const conventions = semanticConventions();
  assert.match(conventions.version, /^\d+\.\d+\.\d+$/);
  for (const key of ["http.route", "rpc.method", "messaging.system.name", "db.query.text", "error.type"]) {
    assert.ok(conventions.keys.has(key), key);
    assert.equal(conventions.deprecated.has(key), false, `${key} is current`);
  }
  assert.match(conventions.deprecated.get("messaging.system") ?? "", /messaging\.system\.name/);
  assert.match(conventions.deprecated.get("rpc.system") ?? "", /rpc\.system\.name/);
  assert.ok(conventions.deprecated.has("rpc.grpc.status_code"));
  assert.ok(conventions.deprecated.has("messaging.kafka.offset"));
});
