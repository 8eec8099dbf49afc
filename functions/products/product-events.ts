// The product's events, declared once: what the writer may emit, what the read model accepts, and
// the state every event carries (event-carried state transfer).
import * as v from "valibot";
import { defineEvents } from "#shared/platform/events.ts";

export const ProductData = v.object({
  id: v.pipe(v.string(), v.uuid()),
  sku: v.string(),
  name: v.string(),
  description: v.string(),
  priceCents: v.pipe(v.number(), v.integer()),
  currency: v.string(),
  stock: v.pipe(v.number(), v.integer()),
  tags: v.array(v.string()),
  version: v.pipe(v.number(), v.integer()),
  createdAt: v.pipe(v.string(), v.isoTimestamp()),
  updatedAt: v.pipe(v.string(), v.isoTimestamp()),
  deleted: v.boolean(),
});

export type ProductData = v.InferOutput<typeof ProductData>;

export const productEvents = defineEvents({
  aggregateType: "product",
  types: { ProductCreated: { version: 1 }, ProductUpdated: { version: 1 }, ProductDeleted: { version: 1 } },
  data: ProductData,
});
