// The product read model in MongoDB and its projection from product-events: one document per
// product, version-guarded, tombstones for deletes (shared/read-side/versioned-projection.ts).
import type { Collection, Db } from "mongodb";
import type { Product } from "#proto/gen/reader/v1/reader.ts";
import { normalise, wordPrefixes } from "#shared/read-side/text.ts";
import { versionedProjection } from "#shared/read-side/versioned-projection.ts";
import { productEvents } from "./product-events.ts";

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
  events: productEvents,
  collection: products,
  cacheKind: CACHE_KIND,
  indexes: INDEXES,
  toDoc: ({ id: _id, deleted: _deleted, version: _version, ...fields }) => ({
    ...fields,
    prefixes: wordPrefixes(fields.name, fields.description),
    sortName: normalise(fields.name),
  }),
});
