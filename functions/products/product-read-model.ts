// The product read model in MongoDB and its projection from product-events: one document per
// product, version-guarded, tombstones for deletes (shared/read-side/versioned-projection.ts).
import type { Collection, Db } from "mongodb";
import * as v from "valibot";
import type { Product } from "#proto/gen/reader/v1/reader.ts";
import { normalise, wordPrefixes } from "#shared/read-side/text.ts";
import { versionedProjection } from "#shared/read-side/versioned-projection.ts";
import { AGGREGATE } from "./product.ts";

export const COLLECTION = "products";
export const CACHE_KIND = "product";

export interface ProductDoc {
  _id: string;
  version: number;
  deleted: boolean;
  sku?: string;
  name?: string;
  description?: string;
  priceCents?: number;
  currency?: string;
  stock?: number;
  tags?: string[];
  createdAt?: string;
  updatedAt?: string;
  /** Normalised word prefixes of name and description: what `q` matches. */
  prefixes?: string[];
  /** The name, normalised, for sort=name. */
  sortName?: string;
}

export const products = (db: Db): Collection<ProductDoc> => db.collection<ProductDoc>(COLLECTION);

/** Indexes for every query shape: by id (built in), word prefixes, tag, and each sort order. */
export const INDEXES = [
  { key: { deleted: 1, prefixes: 1 }, name: "live_prefixes" },
  { key: { deleted: 1, tags: 1 }, name: "live_tags" },
  { key: { deleted: 1, sortName: 1, _id: 1 }, name: "live_by_name" },
  { key: { deleted: 1, priceCents: 1, _id: 1 }, name: "live_by_price" },
  { key: { deleted: 1, createdAt: 1, _id: 1 }, name: "live_by_created" },
] as const;

const ProductData = v.object({
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

export function toProduct(doc: ProductDoc): Product {
  return {
    id: doc._id,
    sku: doc.sku ?? "",
    name: doc.name ?? "",
    description: doc.description ?? "",
    priceCents: doc.priceCents ?? 0,
    currency: doc.currency ?? "",
    stock: doc.stock ?? 0,
    tags: doc.tags ?? [],
    version: doc.version,
    createdAt: doc.createdAt ?? "",
    updatedAt: doc.updatedAt ?? "",
  };
}

export const productProjection = versionedProjection({
  aggregateType: AGGREGATE,
  collection: products,
  cacheKind: CACHE_KIND,
  eventTypes: ["ProductCreated", "ProductUpdated", "ProductDeleted"],
  data: ProductData,
  indexes: INDEXES,
  toDoc: ({ id: _id, deleted: _deleted, version: _version, ...fields }) => ({
    ...fields,
    prefixes: wordPrefixes(fields.name, fields.description),
    sortName: normalise(fields.name),
  }),
});
