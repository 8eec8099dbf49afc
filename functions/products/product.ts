// The product aggregate: its field rules, its events, and the pure decision of each command
// (emmett's decide/evolve): given the current state and a command, which event happens, or which
// domain error. No I/O here; the handlers load state and persist what `decide` returns.
import * as v from "valibot";
import type { Product } from "#proto/gen/reader/v1/reader.ts";
import { DomainError } from "#shared/platform/errors.ts";
import { storableText } from "#shared/transport/validation.ts";
import { changed, created, type Lifecycle, removed } from "#shared/write-side/lifecycle.ts";

export const AGGREGATE = "product";

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
  name: v.pipe(
    v.string(),
    v.trim(),
    v.minLength(1, "name must not be empty"),
    v.maxLength(200, "name is at most 200 characters"),
    storableText("name"),
  ),
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

export const Id = v.pipe(v.string(), v.uuid("must be a UUID"));
export const Version = v.pipe(v.number(), v.integer(), v.minValue(1, "versions start at 1"));

/** The products' group in the API document. */
export const TAG = { name: "products", description: "Products: create, change, delete, read one, search." };

const Timestamp = v.pipe(v.string(), v.isoTimestamp());

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
export const ProductVersion = v.strictObject({ id: Id, version: Version });

export interface ProductFields {
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  tags: string[];
}

export interface ProductState extends ProductFields, Lifecycle {}

export type ProductCommand =
  | { type: "CreateProduct"; id: string; fields: ProductFields; now: Date }
  | { type: "UpdateProduct"; patch: Partial<ProductFields>; expectedVersion?: number; now: Date }
  | { type: "DeleteProduct"; expectedVersion?: number; now: Date };

export type ProductEventType = "ProductCreated" | "ProductUpdated" | "ProductDeleted";

export interface ProductEvent {
  type: ProductEventType;
  /** The state after the event: what the envelope's `data` carries. */
  state: ProductState;
}

export function decide(command: ProductCommand, state: ProductState | undefined): ProductEvent {
  switch (command.type) {
    case "CreateProduct":
      return { type: "ProductCreated", state: created("product", state, command.id, command.fields, command.now) };
    case "UpdateProduct":
      return {
        type: "ProductUpdated",
        state: changed("product", state, command.expectedVersion, command.patch, command.now),
      };
    case "DeleteProduct":
      return { type: "ProductDeleted", state: removed("product", state, command.expectedVersion, command.now) };
    default: {
      const unknown: never = command;
      throw new DomainError("invalid_input", `unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** The event's `data`: the full state after the change, timestamps as RFC 3339 strings. */
export function eventData(state: ProductState): Record<string, unknown> {
  return {
    id: state.id,
    sku: state.sku,
    name: state.name,
    description: state.description,
    priceCents: state.priceCents,
    currency: state.currency,
    stock: state.stock,
    tags: state.tags,
    version: state.version,
    createdAt: state.createdAt.toISOString(),
    updatedAt: state.updatedAt.toISOString(),
    deleted: state.deleted,
  };
}
