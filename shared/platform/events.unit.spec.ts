// Each aggregate's events are a closed set with schema versions: what `upcast` accepts, brings up
// to date, and refuses (the projection sends a refusal to the dead-letter topic).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { productEvents } from "#functions/products/product-events.ts";
import { userEvents } from "#functions/users/user-events.ts";
import { defineEvents, upcast } from "./events.ts";

const widgets = defineEvents({
  aggregateType: "widget",
  types: {
    WidgetCreated: { version: 1 },
    // Version 2 renamed `title` to `name`; version 3 added `colour` with a default.
    WidgetRenamed: {
      version: 3,
      upcasters: {
        1: ({ title, ...rest }) => ({ ...rest, name: title }),
        2: (data) => ({ colour: "grey", ...data }),
      },
    },
    WidgetPainted: { version: 2 },
  },
  data: v.object({ name: v.string() }),
});

describe("upcast", () => {
  test("an event at its type's current version passes unchanged", () => {
    const data = { name: "w" };
    assert.deepEqual(upcast(widgets, { type: "WidgetCreated", schemaVersion: 1, data }), {
      ok: true,
      type: "WidgetCreated",
      data,
    });
  });

  test("an older version goes through every upcaster in order", () => {
    assert.deepEqual(upcast(widgets, { type: "WidgetRenamed", schemaVersion: 1, data: { title: "w" } }), {
      ok: true,
      type: "WidgetRenamed",
      data: { colour: "grey", name: "w" },
    });
    assert.deepEqual(upcast(widgets, { type: "WidgetRenamed", schemaVersion: 2, data: { name: "w", colour: "red" } }), {
      ok: true,
      type: "WidgetRenamed",
      data: { name: "w", colour: "red" },
    });
  });

  test("an unknown type, a newer version, a version below 1 and a missing upcaster are refused with the reason", () => {
    const refused = (type: string, schemaVersion: number) => upcast(widgets, { type, schemaVersion, data: {} });
    assert.deepEqual(refused("WidgetMelted", 1), { ok: false, reason: "unknown event type WidgetMelted" });
    assert.deepEqual(refused("WidgetCreated", 2), { ok: false, reason: "unknown schema version 2 of WidgetCreated" });
    assert.deepEqual(refused("WidgetCreated", 0), { ok: false, reason: "unknown schema version 0 of WidgetCreated" });
    assert.deepEqual(refused("WidgetPainted", 1), {
      ok: false,
      reason: "no upcaster for WidgetPainted schema version 1",
    });
  });

  test("a name JavaScript objects inherit is not an event type", () => {
    assert.equal(upcast(widgets, { type: "toString", schemaVersion: 1, data: {} }).ok, false);
    assert.equal(upcast(widgets, { type: "__proto__", schemaVersion: 1, data: {} }).ok, false);
  });
});

describe("the aggregates' events", () => {
  test("every event type is past tense and names its aggregate, at a schema version of 1 or more", () => {
    for (const events of [productEvents, userEvents]) {
      const noun = events.aggregateType[0]?.toUpperCase() + events.aggregateType.slice(1);
      for (const [type, spec] of Object.entries(events.types)) {
        assert.match(type, new RegExp(`^${noun}[A-Z][a-z]+ed$`), type);
        assert.ok(Number.isInteger(spec.version) && spec.version >= 1, type);
      }
    }
  });
});
