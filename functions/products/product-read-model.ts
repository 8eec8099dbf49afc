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

/** A generation of the product read model: by default the first, `products` (shared/read-side/generations.ts). */
export const products = (db: Db, name: string = COLLECTION): Collection<ProductDoc> => db.collection<ProductDoc>(name);

/**
 * Indexes for every query shape: by id (built in), word prefixes and tag (named *_gin: the patched
 * FerretDB builds a GIN index, which serves `$all` and array equality as `@>`; MongoDB a multikey
 * one), and each sort order with its _id tiebreak.
 * The sort indexes do not start with `deleted`: FerretDB (infra/ferretdb/PATCH.md) can only scan
 * an index in order from its first key, and `deleted: false` becomes `@>`, which a btree cannot
 * bound. MongoDB uses them too, filtering out the few tombstones as it scans
 * (read-model-indexes.unit.spec.ts checks every query against them).
 * `by_deleted` serves no query. PostgreSQL keeps statistics on an index's expressions only, and
 * without them costs `deleted: false` (in every query) at 1% of the rows, not 95%: it then sorts
 * every match rather than walk a sort index, 53 ms instead of 0.5 ms for a first page by name of 1k.
 */
export const INDEXES = [
  { key: { prefixes: 1 }, name: "prefixes_gin" },
  { key: { tags: 1 }, name: "tags_gin" },
  { key: { sortName: 1, _id: 1 }, name: "by_name" },
  { key: { priceCents: 1, _id: 1 }, name: "by_price" },
  { key: { createdAt: 1, _id: 1 }, name: "by_created" },
  // Selects nothing: on FerretDB it is what gives PostgreSQL statistics on `deleted` (see above).
  { key: { deleted: 1 }, name: "by_deleted" },
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
  model: COLLECTION,
  collection: products,
  cacheKind: CACHE_KIND,
  indexes: INDEXES,
  toDoc: ({ id: _id, deleted: _deleted, version: _version, price, ...fields }) => ({
    ...fields,
    priceCents: price.amountMinor,
    currency: price.currency,
    prefixes: wordPrefixes(fields.name, fields.description),
    sortName: normalise(fields.name),
  }),
});
