// GetUser on the reader: Redis first, then the read model, then a version-guarded fill
// (shared/read-side/read-one.ts); a caller without the user-admin role reads only their own.

import { notFound } from "#shared/platform/errors.ts";
import { readById } from "#shared/read-side/read-one.ts";
import type { ReaderDeps } from "#shared/read-side/reader-deps.ts";
import { mayActOn } from "#shared/transport/caller.ts";
import { implement } from "#shared/transport/function.ts";
import { USER_ADMIN } from "../user-api.ts";
import { CACHE_KIND, COLLECTION, toUser, users } from "../user-read-model.ts";
import { getUser } from "./get-user.ts";

const read = readById({
  kind: CACHE_KIND,
  missing: "no such user",
  model: COLLECTION,
  collection: users,
  toItem: toUser,
});

export const getUserHandler = implement(getUser, async (request, deps: ReaderDeps) => {
  const user = await read(request, deps);
  // Another's user is "no such user" to a caller without the role: its existence does not leak.
  if (!mayActOn(user.subject, [USER_ADMIN])) throw notFound("no such user");
  return { user };
});
