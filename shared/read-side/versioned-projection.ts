// The projection every aggregate uses: one read-model document per aggregate id, written only by
// an event whose version is newer than the document's. The filter {_id, version: {$lt: v}} with
// upsert either replaces an older document, inserts a new one, or fails with a duplicate key on _id
// because a newer or equal version is there: "already applied". A delete leaves a tombstone
// {_id, version, deleted: true}, so a replayed older event cannot bring it back. The read model has
// no other unique index (uniqueness is the writer's job), so a duplicate key can only mean that.
import type { AnyBulkWriteOperation, Collection, Db, IndexDirection } from "mongodb";
import * as v from "valibot";
import { crashPoint } from "../platform/crash-point.ts";
import { type AggregateEvents, type EventEnvelope, upcast } from "../platform/events.ts";
import { duplicateKeyAt } from "./duplicate-key.ts";
import { type BatchOutcome, PoisonMessage, type Projection } from "./projection.ts";
import { traced } from "./read-model-spans.ts";

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

/** The event data of a live aggregate: of a union, the members that are not deletions. */
type Live<D> = D extends { deleted: true } ? never : D;

export interface IndexSpec {
  key: Record<string, IndexDirection>;
  name: string;
}

export interface VersionedProjectionSpec<T extends string, D extends StateData, Doc extends ReadModelDoc> {
  /** The aggregate's events: exactly these types are applied, their data brought up to date first. */
  events: AggregateEvents<T, D>;
  /** The read model's name, that of its first generation's collection, e.g. "products". */
  model: string;
  /** A generation's collection of the read model, by its name. */
  collection: (db: Db, name: string) => Collection<Doc>;
  /** The cache kind whose entries the projection invalidates (none: the read model is not cached). */
  cacheKind?: string;
  /** Indexes for every query shape; declared here, created at start when missing. */
  indexes: readonly IndexSpec[];
  /** The document of a live aggregate (without _id, version and deleted, which are added here). */
  toDoc(data: Live<D>): Omit<Doc, "_id" | "version" | "deleted">;
  derived?: Derived<Doc>;
}

/**
 * Documents derived from a read model's documents, beside each of its generations (e.g. how many
 * products carry each tag): recomputed from the read model, never incremented, so duplicates and
 * replays leave them right. After each write (a replayed one too) the projection notes the keys the
 * documents written carry and marks the collection changed; a background recount, at most one at a
 * time, recomputes every key and clears the mark only if no write marked it meanwhile (else it
 * recounts again). The mark is written before the batch's offsets are committed, so it survives a
 * crash; `settle` recounts now.
 */
export interface Derived<Doc extends ReadModelDoc> {
  /** The derived collection beside the read model's collection `name` (of the same generation). */
  collectionFor(name: string): string;
  indexes: readonly IndexSpec[];
  /** The derived keys a document written carries (new keys are registered for the recount). */
  keys(after: Omit<Doc, "_id">): string[];
  /** Registers `keys` not seen before and marks the read model's collection `name` changed. */
  mark(db: Db, name: string, keys: string[]): Promise<void>;
  /** Has `name`'s derived documents recomputed soon, in the background, if it is marked changed. */
  recomputeSoon(db: Db, name: string): void;
  /** Recomputes `name`'s derived documents now, until no write marks it meanwhile. */
  settle(db: Db, name: string): Promise<void>;
  /** Every derived key the read model's collection `name` has (a rebuild registers them all). */
  allKeys(db: Db, name: string): Promise<string[]>;
  /** _ids of bookkeeping documents in the derived collection (not compared by a rebuild). */
  bookkeeping: readonly string[];
}

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
  cacheKind: string | undefined;
  derived: Derived<ReadModelDoc> | undefined;
  indexes: readonly IndexSpec[];
  /** The aggregate's events (a rebuild brings a row's state to the event data the projection reads). */
  events: AggregateEvents<string, D>;
  /** A generation's collection, by its name. */
  collection(db: Db, name: string): Collection<ReadModelDoc>;
  /**
   * What `apply` writes for `data` (the upsert's filter gives the _id): the live document, or the
   * tombstone. Exposed so that a bulk load (scripts/bench/seed.ts) writes exactly what the
   * projection would.
   */
  document(data: D): Omit<ReadModelDoc, "_id">;
}

/** A batch's writes to one collection go as at most this many bulk writes at once... */
const WRITERS = 4;
/** ...one for each this many writes: a batch of up to 16 is one bulk write, of 17 to 32 two. */
const MIN_SLICE = 16;

export function versionedProjection<T extends string, D extends StateData, Doc extends ReadModelDoc>(
  spec: VersionedProjectionSpec<T, D, Doc>,
): VersionedProjection<D> {
  const document = (data: D): Omit<ReadModelDoc, "_id"> =>
    data.deleted
      ? { version: data.version, deleted: true }
      : { ...spec.toDoc(data as Live<D>), version: data.version, deleted: false };

  /** The event's data at the current schema version, checked against the envelope; or why it is poison. */
  const parseData = (event: EventEnvelope): D | string => {
    const current = upcast(spec.events, event);
    if (!current.ok) return current.reason;
    const parsed = v.safeParse(spec.events.data, current.data);
    if (!parsed.success) {
      return `invalid data: ${parsed.issues.map((issue) => `${v.getDotPath(issue)} ${issue.message}`).join("; ")}`;
    }
    if (parsed.output.id !== event.aggregateId || parsed.output.version !== event.version) {
      return "data.id and data.version must match the envelope";
    }
    return parsed.output;
  };

  const derived = spec.derived as Derived<ReadModelDoc> | undefined;
  const collectionOf = (db: Db, name: string) => spec.collection(db, name) as unknown as Collection<ReadModelDoc>;

  /** Writes `writes` in order as one bulk write; the indexes (into `writes`) of the ones that were stale. */
  async function writeInOrder(collection: Collection<ReadModelDoc>, writes: { data: D }[]): Promise<Set<number>> {
    const operation = ({ data }: { data: D }): AnyBulkWriteOperation<ReadModelDoc> => ({
      replaceOne: {
        filter: { _id: data.id, version: { $lt: data.version } },
        replacement: document(data),
        upsert: true,
      },
    });
    // Ordered, so that a failure says exactly what ran: the writes before it were applied, it was
    // stale (a duplicate key on _id: a version at least as new is there), and the rest go in the
    // next round. Unordered bulk writes are not reported alike by every server (FerretDB 1.24
    // stops at the first error either way). Stale writes are rare (replays), so rounds are few.
    const stale = new Set<number>();
    let from = 0;
    while (from < writes.length) {
      try {
        const batch = writes.slice(from).map(operation);
        await traced(collection, "bulkWrite", () => collection.bulkWrite(batch, { ordered: true }));
        break;
      } catch (error) {
        const failed = duplicateKeyAt(error);
        if (failed === undefined) throw error;
        stale.add(from + failed);
        from += failed + 1;
      }
    }
    return stale;
  }

  /**
   * Writes each aggregate's newest state into one collection, version-guarded; the indexes (into
   * `writes`) of the ones that were stale there. Each id is in `writes` once, so no write waits for
   * another: a large batch goes as up to WRITERS bulk writes at once, each in order. FerretDB runs a
   * bulk write's statements one after the other, so one bulk write kept a batch waiting on each
   * round trip to PostgreSQL while the machine idled. All are settled before a failure is thrown:
   * none is still running when the batch is retried.
   */
  async function writeInto(collection: Collection<ReadModelDoc>, writes: { data: D }[]): Promise<Set<number>> {
    const slices = Math.min(WRITERS, Math.ceil(writes.length / MIN_SLICE));
    if (slices <= 1) return writeInOrder(collection, writes);
    const size = Math.ceil(writes.length / slices);
    const settled = await Promise.allSettled(
      Array.from({ length: slices }, async (_, k) => {
        const stale = await writeInOrder(collection, writes.slice(k * size, (k + 1) * size));
        return [...stale].map((index) => index + k * size);
      }),
    );
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    return new Set(settled.flatMap((result) => (result.status === "fulfilled" ? result.value : [])));
  }

  const applyBatch: Projection["applyBatch"] = async (
    { readModel, cache, generations },
    events,
    within = (_index, work) => work(),
  ) => {
    const outcomes: BatchOutcome[] = events.map(() => "stale");
    // The newest state of each aggregate in the batch: the only one worth writing.
    const newest = new Map<string, { index: number; data: D }>();
    events.forEach((event, index) => {
      const parsed = parseData(event);
      if (typeof parsed === "string") {
        outcomes[index] = { poison: parsed };
        return;
      }
      const seen = newest.get(parsed.id);
      if (seen === undefined || seen.data.version < parsed.version) newest.set(parsed.id, { index, data: parsed });
    });
    const writes = [...newest.values()];
    if (writes.length === 0) return outcomes;
    // The live generation decides what was applied; a generation being rebuilt gets the same writes
    // (its snapshot and these overlap: the version guard keeps the newer of the two).
    const writeIntoSome = (name: string, all: { data: D }[], which: Set<number>) =>
      writeInto(
        collectionOf(readModel, name),
        all.filter((_write, k) => which.has(k)),
      );
    const into = async (name: string) => {
      const collection = collectionOf(readModel, name);
      if (!derived) return writeInto(collection, writes);
      const stale = await writeInto(collection, writes);
      // Stale writes too: a replay after a crash between the write and the mark marks it then.
      await derived.mark(readModel, name, [...new Set(writes.flatMap(({ data }) => derived.keys(document(data))))]);
      derived.recomputeSoon(readModel, name);
      return stale;
    };
    const stale = await generations.writing(spec.model, async ([live = spec.model, ...others]) => {
      const staleInLive = await into(live);
      for (const name of others) {
        // A rebuild's copy may insert an id between this write's read and its insert (stock
        // FerretDB's upsert is a read then a write; the local build's is one statement, but nothing
        // here relies on the server): the duplicate key is then no proof of a newer version there,
        // so those are written once more, as a replace of what the copy put.
        const clashed = await into(name);
        if (clashed.size > 0) await writeIntoSome(name, writes, clashed);
      }
      return staleInLive;
    });
    const applied = writes.filter((_write, k) => !stale.has(k));
    for (const { index } of applied) outcomes[index] = "applied";
    if (applied.length > 0) crashPoint("projection-after-write");
    // Stale writes are invalidated too: a replay is stale because its write went through before a
    // crash that may have come before its invalidation, and the cache would serve the older body
    // until its TTL. Raising the cache's version to one it already has is a no-op.
    const kind = spec.cacheKind;
    if (kind !== undefined) {
      await Promise.all(
        writes.map(({ index, data }) => within(index, () => cache.invalidate(kind, data.id, data.version))),
      );
    }
    return outcomes;
  };

  return {
    aggregateType: spec.events.aggregateType,
    model: spec.model,
    cacheKind: spec.cacheKind,
    derived,
    indexes: spec.indexes,
    events: spec.events as unknown as AggregateEvents<string, D>,
    collection: collectionOf,

    async setup({ readModel, generations }) {
      const live = generations.live(spec.model);
      await ensureIndexes(collectionOf(readModel, live), spec.indexes);
      if (derived) {
        await ensureIndexes(collectionOf(readModel, derived.collectionFor(live)), derived.indexes);
        // What a reader that stopped left marked.
        derived.recomputeSoon(readModel, live);
      }
    },

    async apply(deps, event) {
      const [outcome] = await applyBatch(deps, [event]);
      if (outcome === undefined) throw new Error("no outcome for the event");
      if (typeof outcome === "object") throw new PoisonMessage(outcome.poison);
      return outcome;
    },

    applyBatch,
    document,
  };
}
