// The user read model in MongoDB and its projection from user-events: one document per user,
// version-guarded, tombstones for deletes (shared/read-side/versioned-projection.ts). No unique index on
// the email here: uniqueness is the writer's job, and a read model applying events of two users in
// another order than they committed (different partitions) would otherwise refuse a valid state.
import type { Collection, Db } from "mongodb";
import type { User } from "#proto/gen/reader/v1/reader.ts";
import { normalise, wordPrefixes } from "#shared/read-side/text.ts";
import { versionedProjection } from "#shared/read-side/versioned-projection.ts";
import { userEvents } from "./user-events.ts";

export const COLLECTION = "users";
export const CACHE_KIND = "user";

export interface UserDoc {
  _id: string;
  version: number;
  deleted: boolean;
  email?: string;
  name?: string;
  /** The token subject it belongs to (null or absent: nobody's). */
  subject?: string | null;
  createdAt?: string;
  updatedAt?: string;
  /** Normalised word prefixes of the name: what the words of `q` match. */
  prefixes?: string[];
  /** The name, normalised, for sort=name. */
  sortName?: string;
  /** The email, normalised (lower case), for sort=email and for `q` as a prefix of the email. */
  sortEmail?: string;
}

/** A generation of the user read model: by default the first, `users` (shared/read-side/generations.ts). */
export const users = (db: Db, name: string = COLLECTION): Collection<UserDoc> => db.collection<UserDoc>(name);

/**
 * Indexes for every query shape: by id (built in), name word prefixes (a GIN index on the patched
 * FerretDB, see product-read-model.ts; multikey on MongoDB), email prefix
 * (a range on sortEmail, which by_email serves), and each sort order with its _id tiebreak; not led
 * by `deleted`, for the reason product-read-model.ts gives. No `by_deleted` (product-read-model.ts):
 * q's email range is as bunched in name order as its name prefixes, and no implied condition
 * narrows a range in PostgreSQL's estimate, so statistics on `deleted` would have it walk
 * `by_name` for a q sorted by name; without them it collects the matches and sorts them.
 */
export const INDEXES = [
  { key: { prefixes: 1 }, name: "prefixes_gin" },
  { key: { sortName: 1, _id: 1 }, name: "by_name" },
  { key: { sortEmail: 1, _id: 1 }, name: "by_email" },
  { key: { createdAt: 1, _id: 1 }, name: "by_created" },
] as const;

export function toUser(doc: UserDoc): User {
  return {
    id: doc._id,
    email: doc.email ?? "",
    name: doc.name ?? "",
    ...(doc.subject != null ? { subject: doc.subject } : {}),
    version: doc.version,
    createdAt: doc.createdAt ?? "",
    updatedAt: doc.updatedAt ?? "",
  };
}

export const userProjection = versionedProjection({
  events: userEvents,
  model: COLLECTION,
  collection: users,
  cacheKind: CACHE_KIND,
  indexes: INDEXES,
  // A user of nobody's has no subject in its document (as before subjects).
  toDoc: ({ id: _id, deleted: _deleted, version: _version, subject, ...fields }) => ({
    ...fields,
    ...(subject != null ? { subject } : {}),
    prefixes: wordPrefixes(fields.name),
    sortName: normalise(fields.name),
    sortEmail: normalise(fields.email),
  }),
});
