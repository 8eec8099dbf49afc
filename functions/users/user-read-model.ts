// The user read model in MongoDB and its projection from user-events.
//
// One document per user id, written only by an event whose version is newer than the document's:
// the filter {_id, version: {$lt: v}} with upsert either updates an older document, inserts a new
// one, or fails with a duplicate key on _id because a newer or equal version is there, which means
// "already applied". A delete leaves a tombstone {_id, version, deleted: true}. No unique index on
// the email here: uniqueness is the writer's job, and a read model applying events of two users in
// another order than they committed (different partitions) would otherwise refuse a valid state.
import type { Collection, Db } from "mongodb";
import * as v from "valibot";
import type { User } from "../../proto/gen/reader/v1/reader.ts";
import type { ProjectionDeps } from "../../shared/projection.ts";
import { PoisonMessage, type Projection } from "../../shared/projection.ts";
import { normalise, wordPrefixes } from "../../shared/text.ts";
import { AGGREGATE } from "./user.ts";

export const COLLECTION = "users";
export const CACHE_KIND = "user";

export interface UserDoc {
  _id: string;
  version: number;
  deleted: boolean;
  email?: string;
  name?: string;
  createdAt?: string;
  updatedAt?: string;
  /** Normalised word prefixes of the name: what the words of `q` match. */
  prefixes?: string[];
  /** The name, normalised, for sort=name. */
  sortName?: string;
  /** The email, normalised (lower case), for sort=email and for `q` as a prefix of the email. */
  sortEmail?: string;
}

export const users = (db: Db): Collection<UserDoc> => db.collection<UserDoc>(COLLECTION);

/**
 * Indexes for every query shape: by id (built in), name word prefixes, email prefix (a range on
 * sortEmail, which live_by_email serves), and each sort order.
 */
export const INDEXES = [
  { key: { deleted: 1, prefixes: 1 }, name: "live_prefixes" },
  { key: { deleted: 1, sortName: 1, _id: 1 }, name: "live_by_name" },
  { key: { deleted: 1, sortEmail: 1, _id: 1 }, name: "live_by_email" },
  { key: { deleted: 1, createdAt: 1, _id: 1 }, name: "live_by_created" },
] as const;

const EVENT_TYPES = ["UserCreated", "UserUpdated", "UserDeleted"] as const;

const UserData = v.object({
  id: v.pipe(v.string(), v.uuid()),
  email: v.string(),
  name: v.string(),
  version: v.pipe(v.number(), v.integer()),
  createdAt: v.pipe(v.string(), v.isoTimestamp()),
  updatedAt: v.pipe(v.string(), v.isoTimestamp()),
  deleted: v.boolean(),
});

export function toUser(doc: UserDoc): User {
  return {
    id: doc._id,
    email: doc.email ?? "",
    name: doc.name ?? "",
    version: doc.version,
    createdAt: doc.createdAt ?? "",
    updatedAt: doc.updatedAt ?? "",
  };
}

function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 11000;
}

export const userProjection: Projection = {
  aggregateType: AGGREGATE,

  async setup(readModel) {
    // Only the missing ones, one at a time: FerretDB 1.24 panics on a createIndexes naming several
    // indexes that already exist.
    const collection = users(readModel);
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
    const parsed = v.safeParse(UserData, event.data);
    if (!parsed.success)
      throw new PoisonMessage(
        `invalid data: ${parsed.issues.map((i) => `${v.getDotPath(i)} ${i.message}`).join("; ")}`,
      );
    const data = parsed.output;
    if (data.id !== event.aggregateId || data.version !== event.version) {
      throw new PoisonMessage("data.id and data.version must match the envelope");
    }
    const { id, deleted, ...fields } = data;
    const doc: Omit<UserDoc, "_id"> = deleted
      ? { version: data.version, deleted: true }
      : {
          ...fields,
          deleted: false,
          prefixes: wordPrefixes(fields.name),
          sortName: normalise(fields.name),
          sortEmail: normalise(fields.email),
        };
    try {
      await users(readModel).replaceOne({ _id: id, version: { $lt: data.version } }, doc, { upsert: true });
    } catch (error) {
      if (isDuplicateKey(error)) return "stale";
      throw error;
    }
    await cache.invalidate(CACHE_KIND, id, data.version);
    return "applied";
  },
};
