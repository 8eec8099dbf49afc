// The product's events, declared once: what the writer may emit, what the read model accepts, and
// the state every event carries (event-carried state transfer).
//
// Schema version 2 (every product event type): the price is one value, `price: {amountMinor,
// currency}`, where version 1 had `priceCents` and `currency` side by side: an amount means nothing
// without its currency, and the minor unit is the currency's (not always a cent). Version-1 events
// stay in the topics as they are; `upcasters[1]` brings them to version 2 wherever they are read
// (projections, `npm run rebuild`, dead-letter replays). Readers first, then writers.
import * as v from "valibot";
import { defineEvents, type EventData } from "#shared/platform/events.ts";

/** An amount in the currency's minor unit (cents for EUR, yen for JPY) and its ISO 4217 code. */
export const Money = v.object({
  amountMinor: v.pipe(v.number(), v.integer()),
  currency: v.string(),
});

export const ProductData = v.object({
  id: v.pipe(v.string(), v.uuid()),
  sku: v.string(),
  name: v.string(),
  description: v.string(),
  price: Money,
  stock: v.pipe(v.number(), v.integer()),
  tags: v.array(v.string()),
  version: v.pipe(v.number(), v.integer()),
  createdAt: v.pipe(v.string(), v.isoTimestamp()),
  updatedAt: v.pipe(v.string(), v.isoTimestamp()),
  deleted: v.boolean(),
});

export type ProductData = v.InferOutput<typeof ProductData>;

/** Version 1 -> 2: `priceCents` and `currency` become `price`. */
export function priceAsMoney({ priceCents, currency, ...rest }: EventData): EventData {
  return { ...rest, price: { amountMinor: priceCents, currency } };
}

const VERSION_2 = { version: 2, upcasters: { 1: priceAsMoney } };

export const productEvents = defineEvents({
  aggregateType: "product",
  types: { ProductCreated: VERSION_2, ProductUpdated: VERSION_2, ProductDeleted: VERSION_2 },
  data: ProductData,
});
