// The product's field rules: what a valid sku, name, price... is. One definition serves the HTTP
// bodies, the gRPC requests (validated again at the writer) and the domain.
import * as v from "valibot";
import { DisplayName } from "#shared/transport/fields.ts";
import { storableText } from "#shared/transport/validation.ts";

const PRICE_MAX = 1_000_000_000_000; // 10^12 minor units: far above any price, far below 2^53
const STOCK_MAX = 1_000_000_000;

export const fields = {
  sku: v.pipe(
    v.string(),
    v.trim(),
    v.minLength(1, "sku must not be empty"),
    v.maxLength(64, "sku is at most 64 characters"),
    v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "sku may hold letters, digits, '.', '_' and '-'"),
  ),
  name: DisplayName,
  description: v.pipe(
    v.string(),
    v.maxLength(2000, "description is at most 2000 characters"),
    storableText("description", false),
  ),
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
    v.array(
      v.pipe(
        v.string(),
        v.trim(),
        v.toLowerCase(),
        v.minLength(1, "a tag must not be empty"),
        v.maxLength(40, "a tag is at most 40 characters"),
        storableText("a tag"),
      ),
    ),
    v.maxLength(20, "at most 20 tags"),
    v.transform((tags) => [...new Set(tags)]),
  ),
};
