// The product read model in MongoDB and its projection from product-events.
//
// One document per product id, written only by an event whose version is newer than the
// document's: the filter {_id, version: {$lt: v}} with upsert either updates an older document,
// inserts a new one, or fails with a duplicate key on _id because a newer or equal version is
// there, which means "already applied". A delete leaves a tombstone {_id, version, deleted: true}.
import type { Collection, Db } from "mongodb";
import * as v from "valibot";
import type { Product } from "../../proto/gen/reader/v1/reader.ts";
import type { ProjectionDeps } from "../../shared/projection.ts";
import { PoisonMessage, type Projection } from "../../shared/projection.ts";
import { normalise, wordPrefixes } from "../../shared/text.ts";
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

const EVENT_TYPES = ["ProductCreated", "ProductUpdated", "ProductDeleted"] as const;

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

function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 11000;
}

export const productProjection: Projection = {
  aggregateType: AGGREGATE,

  async setup(readModel) {
    // Only the missing ones, one at a time: FerretDB 1.24 panics on a createIndexes naming several
    // indexes that already exist.
    const collection = products(readModel);
    const existing = new Set(
      (
        await collection
          .listIndexes()
          .toArray()
          .catch(() => [])
      ).map((index) => String(index.name)),
    );
    for (const index of INDEXES) {
      if (!existing.has(index.name)) await collection.createIndex({ ...index.key }, { name: index.name });
    }
  },

  async apply({ readModel, cache }: ProjectionDeps, event) {
    if (!(EVENT_TYPES as readonly string[]).includes(event.type))
      throw new PoisonMessage(`unknown event type ${event.type}`);
    if (event.schemaVersion !== 1) throw new PoisonMessage(`unknown schema version ${event.schemaVersion}`);
    const parsed = v.safeParse(ProductData, event.data);
    if (!parsed.success)
      throw new PoisonMessage(
        `invalid data: ${parsed.issues.map((i) => `${v.getDotPath(i)} ${i.message}`).join("; ")}`,
      );
    const data = parsed.output;
    if (data.id !== event.aggregateId || data.version !== event.version) {
      throw new PoisonMessage("data.id and data.version must match the envelope");
    }
    const { id, deleted, ...fields } = data;
    const doc: Omit<ProductDoc, "_id"> = deleted
      ? { version: data.version, deleted: true }
      : {
          ...fields,
          deleted: false,
          prefixes: wordPrefixes(fields.name, fields.description),
          sortName: normalise(fields.name),
        };
    try {
      await products(readModel).replaceOne({ _id: id, version: { $lt: data.version } }, doc, { upsert: true });
    } catch (error) {
      if (isDuplicateKey(error)) return "stale";
      throw error;
    }
    await cache.invalidate(CACHE_KIND, id, data.version);
    return "applied";
  },
};
