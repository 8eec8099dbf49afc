import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ObjectId } from "mongodb";
import { mongoStatement } from "./mongodb-statement.ts";

describe("mongoStatement", () => {
  it("keeps the command's shape and replaces every value with ?", () => {
    const text = mongoStatement({
      find: "products",
      filter: { $and: [{ deleted: false }], _id: new ObjectId(), at: new Date(0) },
      limit: 21,
    });
    assert.equal(text, '{"find":"?","filter":{"$and":[{"deleted":"?"}],"_id":"?","at":"?"},"limit":"?"}');
  });

  it("shows an array's first element and counts the rest", () => {
    const updates = Array.from({ length: 200 }, (_, i) => ({ q: { _id: `id${i}` }, u: { name: "secret" } }));
    assert.equal(
      mongoStatement({ update: "products", updates }),
      '{"update":"?","updates":[{"q":{"_id":"?"},"u":{"name":"?"}},"... 199 more"]}',
    );
  });

  it("writes raw BSON as one ?, not a ? per byte", () => {
    const chunk = Buffer.alloc(400_000, 1);
    const text = mongoStatement({ update: "products", updates: { documents: [], chunks: [chunk] } });
    assert.equal(text, '{"update":"?","updates":{"documents":[],"chunks":["?"]}}');
  });

  it("is bounded whatever the command", () => {
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`field${i}`, i]));
    const text = mongoStatement({ insert: "x", documents: [wide] });
    assert.ok(text.length <= 4096 + 3, `${text.length} characters`);
    assert.ok(text.endsWith("..."));
  });

  it("marks a circular reference instead of throwing", () => {
    const command: Record<string, unknown> = { find: "x" };
    command.self = command;
    assert.equal(mongoStatement(command), '{"find":"?","self":"[Circular]"}');
  });
});
