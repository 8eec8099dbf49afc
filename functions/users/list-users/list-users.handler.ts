// ListUsers on the reader: straight from the read model (lists are not cached), keyset paginated
// (shared/read-side/keyset.ts).
import type { Filter } from "mongodb";
import type { ListUsersRequest } from "#proto/gen/reader/v1/reader.ts";
import { keyset } from "#shared/read-side/keyset.ts";
import type { ReaderDeps } from "#shared/read-side/reader-deps.ts";
import { normalise, queryPrefixes } from "#shared/read-side/text.ts";
import type { ReadModelDoc } from "#shared/read-side/versioned-projection.ts";
import type { SortOf } from "#shared/transport/cursor.ts";
import { implement } from "#shared/transport/function.ts";
import { COLLECTION, toUser, users } from "../user-read-model.ts";
import { listUsers, SORTS } from "./list-users.ts";

const paging = keyset(SORTS, {
  name: { field: "sortName", least: "" },
  email: { field: "sortEmail", least: "" },
  createdAt: { field: "createdAt", least: "" },
});

/** Above every code point: `p` <= s < `p + TOP` holds exactly for the strings s that start with p. */
const TOP = "\u{10FFFF}";

/**
 * What `q` matches: every word of it as a prefix of a word of the name, or all of it as a prefix of
 * the email. A `q` with neither words nor other characters matches every user.
 */
export function queryFilter(q: string): Filter<ReadModelDoc> | undefined {
  const words = queryPrefixes(q);
  const emailPrefix = normalise(q.trim());
  const branches: Filter<ReadModelDoc>[] = [];
  if (words.length > 0) branches.push({ prefixes: { $all: words } });
  // An email has no spaces (user-fields.ts), so a q with one can only match names.
  if (emailPrefix !== "" && !/\s/u.test(emailPrefix)) {
    branches.push({ sortEmail: { $gte: emailPrefix, $lt: `${emailPrefix}${TOP}` } });
  }
  if (branches.length === 0) return undefined;
  return branches.length === 1 ? branches[0] : { $or: branches };
}

const matching = (request: ListUsersRequest) => {
  const filter = request.q === undefined ? undefined : queryFilter(request.q);
  return filter ? [filter] : [];
};

/** The whole filter a listing runs (exported for its unit tests). */
export const buildFilter = (request: ListUsersRequest, sort: SortOf<(typeof SORTS.names)[number]>) =>
  paging.filter(matching(request), { ...request, sort });

/** The sort a listing runs (exported for tests/ferretdb/read-model-indexes.unit.spec.ts). */
export const buildSort = (sort: SortOf<(typeof SORTS.names)[number]>) => paging.sortSpec(sort);

export const listUsersHandler = implement(listUsers, async (request, deps: ReaderDeps) => {
  const { docs, nextCursor } = await paging.page(
    users(deps.readModel, deps.generations.live(COLLECTION)),
    matching(request),
    request,
    deps.queryTimeoutMs,
  );
  return { items: docs.map(toUser), nextCursor };
});
