// The product tags read model: for each tag, how many live products carry it, built from the
// product events beside the product read model (reader-registry.ts lists it after it, on the same
// topic). Two collections per generation: `product_tag_members` (the read model proper: each
// product's tags, version-guarded like every versioned projection, tombstones for deletes) and
// `product_tags` (the counts, derived from the members after each write: a count is recomputed
// from the members, never incremented, so duplicates and replays leave it right).
import type { Collection, Db } from "mongodb";
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
  count: number;
}

export const tagMembers = (db: Db, name: string = MEMBERS): Collection<TagMemberDoc> =>
  db.collection<TagMemberDoc>(name);

/** The counts beside the members collection `membersName` (same generation). */
export const countsFor = (membersName: string): string => TAGS + membersName.slice(MEMBERS.length);

export const tagCounts = (db: Db, name: string = TAGS): Collection<TagCountDoc> => db.collection<TagCountDoc>(name);

/** Rounds of recount after a write: another reader's write of the same tag may have crossed it. */
const ROUNDS = 5;

/**
 * Sets the count of `tag` to the number of live members carrying it, then counts again: if a
 * concurrent writer changed the members meanwhile (or wrote an older count over this one), it
 * writes again. The last writer of a tag always counts after its write, so counts settle right.
 */
async function recountTag(members: Collection<TagMemberDoc>, counts: Collection<TagCountDoc>, tag: string) {
  let count = await members.countDocuments({ tags: tag, deleted: false });
  for (let round = 0; round < ROUNDS; round++) {
    if (count === 0) await counts.deleteOne({ _id: tag });
    else await counts.updateOne({ _id: tag }, { $set: { count } }, { upsert: true });
    const again = await members.countDocuments({ tags: tag, deleted: false });
    if (again === count) {
      const stored = await counts.findOne({ _id: tag });
      if ((stored?.count ?? 0) === count) return;
    }
    count = again;
  }
}

const derived: Derived<TagMemberDoc> = {
  collectionFor: countsFor,
  indexes: [{ key: { count: -1, _id: 1 }, name: "by_count" }],
  keys: (before, after) => [
    ...(before && !before.deleted ? (before.tags ?? []) : []),
    ...(after.deleted ? [] : ((after as Omit<TagMemberDoc, "_id">).tags ?? [])),
  ],
  async recompute(db, name, keys) {
    const members = tagMembers(db, name);
    const counts = tagCounts(db, countsFor(name));
    for (const tag of keys) await recountTag(members, counts, tag);
  },
  async allKeys(db, name) {
    const tags = await tagMembers(db, name).distinct("tags", { deleted: false });
    return tags.map(String);
  },
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
