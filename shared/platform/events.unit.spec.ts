// Each aggregate's events are a closed set with schema versions: what `upcast` accepts, brings up
// to date, and refuses (the projection sends a refusal to the dead-letter topic).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { productEvents } from "#functions/products/product-events.ts";
import { userEvents } from "#functions/users/user-events.ts";
import { defineEvents, ENVELOPE_VERSION, EventEnvelope, upcast } from "./events.ts";

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

describe("the envelope", () => {
  const envelope = {
    eventId: "01890f4e-7b7a-7cc0-8b6e-3c2f1a9d4e51",
    type: "ProductCreated",
    aggregateId: "01890f4e-7b7a-7cc0-8b6e-3c2f1a9d4e52",
    version: 1,
    occurredAt: "2026-12-03T10:00:00.000Z",
    schemaVersion: 2,
    data: {},
  };

  test("an envelope of the first version (no envelopeVersion, no metadata) reads as version 1 with none", () => {
    const parsed = v.parse(EventEnvelope, envelope);
    assert.equal(parsed.envelopeVersion, 1);
    assert.deepEqual(parsed.metadata, {});
  });

  test("fields and metadata keys this reader does not know are carried along, never refused", () => {
    const parsed = v.safeParse(EventEnvelope, {
      ...envelope,
      envelopeVersion: ENVELOPE_VERSION,
      metadata: { actor: "user:ada", correlationId: "c-1", tenant: "t-9" },
      causationId: "a field of a later writer",
    });
    assert.ok(parsed.success);
    assert.equal(parsed.output.metadata.tenant, "t-9");
  });

  test("an envelope version newer than this reader's is refused with the reason (dead-lettered, replayable)", () => {
    const parsed = v.safeParse(EventEnvelope, { ...envelope, envelopeVersion: ENVELOPE_VERSION + 1 });
    assert.equal(parsed.success, false);
    assert.match(parsed.issues?.[0]?.message ?? "", /newer than 2, which this reader does not know/);
  });
});

describe("schema changes of the aggregates' events", () => {
  const product = {
    id: "01890f4e-7b7a-7cc0-8b6e-3c2f1a9d4e51",
    sku: "S-1",
    name: "n",
    description: "d",
    stock: 1,
    tags: [],
    version: 1,
    createdAt: "2026-12-03T10:00:00.000Z",
    updatedAt: "2026-12-03T10:00:00.000Z",
    deleted: false,
  };

  test("product events of version 1 carry the price as priceCents and currency; version 2 as one Money", () => {
    for (const type of ["ProductCreated", "ProductUpdated", "ProductDeleted"]) {
      const up = upcast(productEvents, {
        type,
        schemaVersion: 1,
        data: { ...product, priceCents: 1999, currency: "EUR" },
      });
      assert.deepEqual(up, { ok: true, type, data: { ...product, price: { amountMinor: 1999, currency: "EUR" } } });
      assert.ok(up.ok && v.safeParse(productEvents.data, up.data).success);
    }
  });

  test("a version-1 UserDeleted loses its email, name and creation time on the way in", () => {
    const v1 = {
      id: product.id,
      email: "ada@example.com",
      name: "Ada",
      version: 3,
      createdAt: "2026-12-01T10:00:00.000Z",
      updatedAt: "2026-12-03T10:00:00.000Z",
      deleted: true,
    };
    const up = upcast(userEvents, { type: "UserDeleted", schemaVersion: 1, data: v1 });
    assert.deepEqual(up, {
      ok: true,
      type: "UserDeleted",
      data: { id: product.id, version: 3, updatedAt: "2026-12-03T10:00:00.000Z", deleted: true },
    });
    assert.ok(up.ok && v.safeParse(userEvents.data, up.data).success);
  });
});
