// GetUser on the reader: Redis first, then the read model, then a version-guarded fill
// (shared/read-side/read-one.ts).
import { readById } from "#shared/read-side/read-one.ts";
import type { ReaderDeps } from "#shared/read-side/reader-deps.ts";
import { implement } from "#shared/transport/function.ts";
import { CACHE_KIND, COLLECTION, toUser, users } from "../user-read-model.ts";
import { getUser } from "./get-user.ts";

const read = readById({
  kind: CACHE_KIND,
  missing: "no such user",
  model: COLLECTION,
  collection: users,
  toItem: toUser,
});

export const getUserHandler = implement(getUser, async (request, deps: ReaderDeps) => ({
  user: await read(request, deps),
}));
