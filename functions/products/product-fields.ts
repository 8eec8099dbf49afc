// The product's field rules: what a valid sku, name, price... is. One definition serves the HTTP
// bodies, the gRPC requests (validated again at the writer) and the domain.
import * as v from "valibot";
import { DisplayName } from "#shared/transport/fields.ts";
import { text } from "#shared/transport/text.ts";

const PRICE_MAX = 1_000_000_000_000; // 10^12 minor units: far above any price, far below 2^53
const STOCK_MAX = 1_000_000_000;

/** One tag: a line of 1 to 40 characters, kept in lower case (checked as given, then lowered). */
export const tag = (field: string) => v.pipe(text(field, { min: 1, max: 40 }), v.toLowerCase());

export const fields = {
  sku: v.pipe(
    v.string(),
    v.minLength(1, "sku must not be empty"),
    v.maxLength(64, "sku is at most 64 characters"),
    v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "sku may hold letters, digits, '.', '_' and '-'"),
  ),
  name: DisplayName,
  description: text("description", { max: 2000, form: "lines" }),
  priceCents: v.pipe(
    v.number(),
    v.integer("priceCents must be a whole number of minor units"),
    v.minValue(0, "priceCents must not be negative"),
    v.maxValue(PRICE_MAX, `priceCents is at most ${PRICE_MAX}`),
  ),
  currency: v.pipe(v.string(), v.regex(/^[A-Z]{3}$/, "currency is an ISO 4217 code such as EUR")),
  stock: v.pipe(
    v.number(),
    v.integer("stock must be a whole number"),
    v.minValue(0, "stock must not be negative"),
    v.maxValue(STOCK_MAX, `stock is at most ${STOCK_MAX}`),
  ),
  tags: v.pipe(
    v.array(tag("a tag")),
    v.maxLength(20, "at most 20 tags"),
    v.transform((tags) => [...new Set(tags)]),
  ),
};
