// The product tags read model: for each tag, how many live products carry it, built from the
// product events beside the product read model (reader-registry.ts lists it after it, on the same
// topic). Two collections per generation: `product_tag_members` (the read model proper: each
// product's tags, version-guarded like every versioned projection, tombstones for deletes) and
// `product_tags` (the counts, derived from the members: each batch marks the collection changed,
// and a background recount per reader recomputes every count from the members, never incrementing
// one, so duplicates and replays leave them right).
import type { AnyBulkWriteOperation, Collection, Db } from "mongodb";
import { duplicateKeyAt } from "#shared/read-side/duplicate-key.ts";
import { traced } from "#shared/read-side/read-model-spans.ts";
import { type QuietRunner, type RunOutcome, runWhenQuiet } from "#shared/read-side/run-when-quiet.ts";
import { type Derived, versionedProjection } from "#shared/read-side/versioned-projection.ts";
import { productEvents } from "./product-events.ts";

/** The read model's name: its members collection, generation 1. */
export const MEMBERS = "product_tag_members";
/** The counts collection's base name (generation n: `product_tags_g<n>`). */
export const TAGS = "product_tags";

export interface TagMemberDoc {
  _id: string;
  version: number;
  deleted: boolean;
  tags?: string[];
}

export interface TagCountDoc {
  /** The tag. */
  _id: string;
  /** Live products carrying it; absent until first counted. */
  count?: number;
  /** On the bookkeeping document only: raised by every write of members, 0 once recounted since. */
  dirty?: number;
}

export const tagMembers = (db: Db, name: string = MEMBERS): Collection<TagMemberDoc> =>
  db.collection<TagMemberDoc>(name);

/** The counts beside the members collection `membersName` (same generation). */
export const countsFor = (membersName: string): string => TAGS + membersName.slice(MEMBERS.length);

export const tagCounts = (db: Db, name: string = TAGS): Collection<TagCountDoc> => db.collection<TagCountDoc>(name);

/** The bookkeeping document of a counts collection: raised by every write of members since the last recount. */
const CHANGED = "~changed";
/** A recount waits for the writes to pause this long, so that one recount serves a whole burst... */
const QUIET_MS = 250;
/** ...but under writes that never pause it starts this long after the first write it serves. */
const MAX_WAIT_MS = 5000;
/** A recount that failed (FerretDB unreachable) is tried again after this long. */
const RETRY_MS = 1000;

/** Tags already registered in each counts collection, by this process. */
const registered = new Map<string, Set<string>>();

/**
 * How many live members of `membersName` carry `tag`. The count command, not countDocuments (an
 * aggregation FerretDB runs in memory, decoding every member carrying the tag): the patched FerretDB
 * counts an exact filter in PostgreSQL through the tags index (infra/ferretdb/PATCH.md), and
 * MongoDB's count with a query counts an unsharded collection's matching documents exactly.
 */
export async function liveCarrying(db: Db, membersName: string, tag: string): Promise<number> {
  const { n } = await db.command({ count: membersName, query: { tags: tag, deleted: false } });
  return Number(n);
}

/**
 * Recounts every registered tag of `membersName` from the live members, then clears the change mark
 * only if it is still the one read before counting. True when the mark is clear (nothing to count,
 * or cleared here); false when a write marked it meanwhile and the counts need another pass.
 * A tag no live product carries keeps a count of 0 (the listing leaves it out).
 */
async function recountOnce(db: Db, membersName: string): Promise<boolean> {
  const counts = tagCounts(db, countsFor(membersName));
  const changed = (await counts.findOne({ _id: CHANGED }))?.dirty ?? 0;
  if (changed === 0) return true;
  const tags = await counts.find({ _id: { $ne: CHANGED } }, { projection: { _id: 1 } }).toArray();
  for (const { _id: tag } of tags) {
    const count = await liveCarrying(db, membersName, tag);
    await counts.updateOne({ _id: tag }, { $set: { count } });
  }
  const cleared = await counts.updateOne({ _id: CHANGED, dirty: changed }, { $set: { dirty: 0 } });
  return cleared.matchedCount === 1;
}

/**
 * Recounts until no write marked the counts during a pass: whoever writes a count last therefore
 * counted after every write that marked before its clear.
 */
async function settleCounts(db: Db, membersName: string): Promise<void> {
  while (!(await recountOnce(db, membersName))) {
    // marked meanwhile: once more
  }
}

/**
 * Runs `writes` (upserts by _id) in order. FerretDB's upsert reads, then inserts, so of two that
 * insert one _id at once (every partition's first batch registers the same tags and raises the one
 * mark) the second fails on the duplicate key: it runs again, and then finds the document. Without
 * this a failed mark failed its batch, which was retried and reported as stale the product writes
 * its first attempt had applied (MongoDB retries such an upsert itself).
 */
async function upsertAll(counts: Collection<TagCountDoc>, writes: AnyBulkWriteOperation<TagCountDoc>[]): Promise<void> {
  let from = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      const batch = writes.slice(from);
      await traced(counts, "bulkWrite", () => counts.bulkWrite(batch, { ordered: true }));
      return;
    } catch (error) {
      const failed = duplicateKeyAt(error);
      if (failed === undefined || attempt >= writes.length) throw error;
      from += failed;
    }
  }
}

/**
 * The background recount of each members collection: one pass at a time, once the writes since the
 * last one paused for QUIET_MS, or MAX_WAIT_MS after the first of them if they do not. A pass costs
 * a count and an update per tag (for 50 tags at 10k members 300 to 520 ms, 100 to 135 ms of it the
 * reader's CPU), so under steady writes it runs every 5 s, not back to back. A pass that finds the
 * mark raised meanwhile leaves it: the writes that raised it asked for the next pass.
 */
const recounts = new Map<string, { runner: QuietRunner; db: Db }>();

function recountSoon(db: Db, membersName: string): void {
  const key = `${db.databaseName}/${membersName}`;
  let recount = recounts.get(key);
  if (!recount) {
    const runner = runWhenQuiet({
      quietMs: QUIET_MS,
      maxWaitMs: MAX_WAIT_MS,
      retryMs: RETRY_MS,
      // With the client of the latest write (a reader that reconnected has a new one).
      run: () =>
        recountOnce(recounts.get(key)?.db ?? db, membersName).then(
          (): RunOutcome => "done",
          // A closed client (the reader stopping: "Topology is closed", MongoNotConnectedError) ends
          // it; anything else is tried again (the mark stays in the read model meanwhile).
          (error: unknown): RunOutcome => (/closed|not ?connected/i.test(String(error)) ? "done" : "retry"),
        ),
    });
    recount = { runner, db };
    recounts.set(key, recount);
  }
  recount.db = db;
  recount.runner.poke();
}

const derived: Derived<TagMemberDoc> = {
  collectionFor: countsFor,
  indexes: [{ key: { count: -1, _id: 1 }, name: "by_count" }],
  keys: (after) => (after.deleted ? [] : (after.tags ?? [])),
  async mark(db, name, keys) {
    const counts = tagCounts(db, countsFor(name));
    const key = `${db.databaseName}/${countsFor(name)}`;
    const known = registered.get(key) ?? new Set<string>();
    registered.set(key, known);
    const fresh = keys.filter((tag) => !known.has(tag));
    const writes: AnyBulkWriteOperation<TagCountDoc>[] = [
      // Registered before the mark: the recount the mark asks for counts them.
      ...fresh.map((tag) => ({
        updateOne: { filter: { _id: tag }, update: { $setOnInsert: { count: 0 } }, upsert: true },
      })),
      { updateOne: { filter: { _id: CHANGED }, update: { $inc: { dirty: 1 } }, upsert: true } },
    ];
    await upsertAll(counts, writes);
    for (const tag of fresh) known.add(tag);
  },
  recomputeSoon: recountSoon,
  settle: settleCounts,
  async allKeys(db, name) {
    const tags = await tagMembers(db, name).distinct("tags", { deleted: false });
    return tags.map(String);
  },
  bookkeeping: [CHANGED],
};

export const productTagsProjection = versionedProjection({
  events: productEvents,
  model: MEMBERS,
  collection: tagMembers,
  // Not cached: the listing is read from the counts.
  indexes: [{ key: { tags: 1 }, name: "tags_gin" }],
  toDoc: ({ tags }) => ({ tags }),
  derived,
});

/** The counts of the live generation, as `generations.live(MEMBERS)` names its members. */
export const liveTagCounts = (db: Db, liveMembers: string): Collection<TagCountDoc> =>
  tagCounts(db, countsFor(liveMembers));
