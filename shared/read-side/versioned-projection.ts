// The projection every aggregate uses: one read-model document per aggregate id, written only by
// an event whose version is newer than the document's. The filter {_id, version: {$lt: v}} with
// upsert either replaces an older document, inserts a new one, or fails with a duplicate key on _id
// because a newer or equal version is there: "already applied". A delete leaves a tombstone
// {_id, version, deleted: true}, so a replayed older event cannot bring it back. The read model has
// no other unique index (uniqueness is the writer's job), so a duplicate key can only mean that.
import type { Collection, Db, IndexDirection } from "mongodb";
import * as v from "valibot";
import { type AggregateEvents, upcast } from "../platform/events.ts";
import { PoisonMessage, type Projection } from "./projection.ts";

export interface ReadModelDoc {
  _id: string;
  version: number;
  deleted: boolean;
}

/** What every event's `data` carries besides the aggregate's own fields. */
interface StateData {
  id: string;
  version: number;
  deleted: boolean;
}

export interface IndexSpec {
  key: Record<string, IndexDirection>;
  name: string;
}

export interface VersionedProjectionSpec<T extends string, D extends StateData, Doc extends ReadModelDoc> {
  /** The aggregate's events: exactly these types are applied, their data brought up to date first. */
  events: AggregateEvents<T, D>;
  collection: (db: Db) => Collection<Doc>;
  /** The cache kind whose entries the projection invalidates. */
  cacheKind: string;
  /** Indexes for every query shape; declared here, created at start when missing. */
  indexes: readonly IndexSpec[];
  /** The document of a live aggregate (without _id, version and deleted, which are added here). */
  toDoc(data: D): Omit<Doc, "_id" | "version" | "deleted">;
}

const isDuplicateKey = (error: unknown) => (error as { code?: unknown })?.code === 11000;

/** Creates the missing indexes one at a time (FerretDB 1.24 panics on a createIndexes naming several that exist). */
export async function ensureIndexes(
  collection: Collection<ReadModelDoc>,
  indexes: readonly IndexSpec[],
): Promise<void> {
  const existing = await collection
    .listIndexes()
    .toArray()
    .catch(() => []);
  const names = new Set(existing.map((index) => String(index.name)));
  for (const index of indexes) {
    if (!names.has(index.name)) await collection.createIndex({ ...index.key }, { name: index.name });
  }
}

/** A versioned projection, and the document it writes for an event's data. */
export interface VersionedProjection<D> extends Projection {
  /**
   * What `apply` writes for `data` (the upsert's filter gives the _id): the live document, or the
   * tombstone. Exposed so that a bulk load (scripts/bench/seed.ts) writes exactly what the
   * projection would.
   */
  document(data: D): Omit<ReadModelDoc, "_id">;
}

export function versionedProjection<T extends string, D extends StateData, Doc extends ReadModelDoc>(
  spec: VersionedProjectionSpec<T, D, Doc>,
): VersionedProjection<D> {
  const document = (data: D): Omit<ReadModelDoc, "_id"> =>
    data.deleted
      ? { version: data.version, deleted: true }
      : { ...spec.toDoc(data), version: data.version, deleted: false };

  return {
    aggregateType: spec.events.aggregateType,

    setup: (readModel) =>
      ensureIndexes(spec.collection(readModel) as unknown as Collection<ReadModelDoc>, spec.indexes),

    async apply({ readModel, cache }, event) {
      const current = upcast(spec.events, event);
      if (!current.ok) throw new PoisonMessage(current.reason);
      const parsed = v.safeParse(spec.events.data, current.data);
      if (!parsed.success) {
        const why = parsed.issues.map((issue) => `${v.getDotPath(issue)} ${issue.message}`).join("; ");
        throw new PoisonMessage(`invalid data: ${why}`);
      }
      const data = parsed.output;
      if (data.id !== event.aggregateId || data.version !== event.version) {
        throw new PoisonMessage("data.id and data.version must match the envelope");
      }
      const doc = document(data);
      // The driver's types cannot follow a generic document through replaceOne's filter.
      const collection = spec.collection(readModel) as unknown as Collection<ReadModelDoc>;
      try {
        await collection.replaceOne({ _id: data.id, version: { $lt: data.version } }, doc, { upsert: true });
      } catch (error) {
        if (isDuplicateKey(error)) return "stale";
        throw error;
      }
      await cache.invalidate(spec.cacheKind, data.id, data.version);
      return "applied";
    },

    document,
  };
}
