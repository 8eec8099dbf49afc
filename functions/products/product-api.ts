// The product as the API shows it: the shapes of what its routes answer, and its group in the
// OpenAPI document.
import * as v from "valibot";
import type { Product } from "#proto/gen/reader/v1/reader.ts";
import { Id, Timestamp, Version, versionOf } from "#shared/transport/fields.ts";

/** The role that may create, change and delete products (reading them is public). */
export const CATALOG_ADMIN = "catalog-admin";

/** The products' group in the API document. */
export const TAG = { name: "products", description: "Products: create, change, delete, read one, search." };

/** A product as the API answers it (GET one, and each item of a search). */
export const ProductSchema = v.strictObject({
  id: v.pipe(Id, v.description("UUIDv7, made by the writer")),
  sku: v.string(),
  name: v.string(),
  description: v.string(),
  priceCents: v.pipe(v.number(), v.integer(), v.minValue(0), v.description("integer minor units, e.g. 1299 for 12.99")),
  currency: v.pipe(v.string(), v.description("ISO 4217 code")),
  stock: v.pipe(v.number(), v.integer(), v.minValue(0)),
  tags: v.array(v.string()),
  version: v.pipe(Version, v.description("1 when created, one more with each change; also the ETag")),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}) satisfies v.GenericSchema<unknown, Product>;

/** What a command answers: the product's id and its version after the change. */
export const ProductVersion = versionOf();
