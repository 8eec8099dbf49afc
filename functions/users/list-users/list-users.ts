// ListUsers: GET /api/v1/users?q=&sort=&limit=&cursor= -> 200 {items, nextCursor}. Straight from
// the read model (lists are not cached), keyset paginated: the opaque cursor holds the sort, the
// last sort value and the last id, so every user is listed exactly once across pages even while
// others are added.
//
// `q` matches a user when every word of it starts a word of the name ("ad lov" finds "Ada
// Lovelace"), or when the whole of it starts the email ("ada.l@ex" finds "Ada.L@example.com"),
// case- and accent-insensitively.
import { Hono } from "hono";
import type { Filter } from "mongodb";
import * as v from "valibot";
import { type ListUsersRequest, type ListUsersResponse, ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { CURSOR_MESSAGE, Cursor, keyset, Limit, type SortOf } from "#shared/read-side/keyset.ts";
import { normalise, queryPrefixes } from "#shared/read-side/text.ts";
import type { ReadModelDoc } from "#shared/read-side/versioned-projection.ts";
import { defineFunction } from "#shared/transport/function.ts";
import { IntegerString, queryObject } from "#shared/transport/http.ts";
import { fieldsOnly, parseInput, storableText } from "#shared/transport/validation.ts";
import { TAG, UserSchema } from "../user.ts";
import { toUser, users } from "../user-read-model.ts";

const paging = keyset(
  {
    name: { field: "sortName", last: v.string() },
    email: { field: "sortEmail", last: v.string() },
    createdAt: { field: "createdAt", last: v.pipe(v.string(), v.isoTimestamp()) },
  },
  "name",
);
type Sort = SortOf<"name" | "email" | "createdAt">;
export const SORTS = paging.sorts;

/** Above every code point: `p` <= s < `p + TOP` holds exactly for the strings s that start with p. */
const TOP = "\u{10FFFF}";

const Query = v.pipe(v.string(), v.maxLength(254, "q is at most 254 characters"), storableText("q"));

/** One page of a listing, as the API answers it. */
export const UserPage = v.strictObject({
  items: v.array(UserSchema),
  nextCursor: v.pipe(v.nullable(Cursor), v.description("pass it back as `cursor` for the next page; null on the last")),
});

/** The HTTP query string; unknown parameters are refused, each by name. */
export const ListUsersQuery = v.pipe(
  fieldsOnly({
    q: v.optional(Query),
    sort: v.optional(paging.SortSchema),
    limit: v.optional(v.pipe(IntegerString, Limit)),
    cursor: v.optional(Cursor),
  }),
  // Checked at the gateway too, so a bad cursor is a 400 even when the reader is unreachable.
  v.forward(
    v.check((input) => input.cursor === undefined || paging.fits(input.cursor, input.sort ?? "name"), CURSOR_MESSAGE),
    ["cursor"],
  ),
);

export const ListUsersRequestSchema = v.object({
  q: v.optional(Query),
  sort: v.optional(paging.SortSchema),
  limit: v.optional(Limit),
  cursor: v.optional(Cursor),
}) satisfies v.GenericSchema<unknown, ListUsersRequest>;

export const encodeCursor = (cursor: { sort: Sort; last: string; id: string }) =>
  paging.encode(cursor.sort, cursor.last, cursor.id);
export const decodeCursor = (raw: string, sort: Sort) => ({ sort, ...paging.decode(raw, sort) });

/**
 * What `q` matches: every word of it as a prefix of a word of the name, or all of it as a prefix of
 * the email. A `q` with neither words nor other characters matches every user.
 */
export function queryFilter(q: string): Filter<ReadModelDoc> | undefined {
  const words = queryPrefixes(q);
  const emailPrefix = normalise(q.trim());
  const branches: Filter<ReadModelDoc>[] = [];
  if (words.length > 0) branches.push({ prefixes: { $all: words } });
  // An email has no spaces (fields.email), so a q with one can only match names.
  if (emailPrefix !== "" && !/\s/u.test(emailPrefix)) {
    branches.push({ sortEmail: { $gte: emailPrefix, $lt: `${emailPrefix}${TOP}` } });
  }
  if (branches.length === 0) return undefined;
  return branches.length === 1 ? branches[0] : { $or: branches };
}

/** The whole filter a listing runs (exported for its unit tests). */
export function buildFilter(request: ListUsersRequest, sort: Sort): Filter<ReadModelDoc> {
  const matching = request.q === undefined ? undefined : queryFilter(request.q);
  return paging.filter(matching ? [matching] : [], { ...request, sort });
}

export const listUsers = defineFunction({
  name: "ListUsers",
  tier: "reader",
  description:
    "List live users, optionally matching q by name word prefixes or email prefix; sorted, cursor-paginated.",
  method: ReaderServiceService.listUsers,
  request: ListUsersRequestSchema,
  handler:
    (deps) =>
    async (request): Promise<ListUsersResponse> => {
      const matching = request.q === undefined ? undefined : queryFilter(request.q);
      const { docs, nextCursor } = await paging.page(users(deps.readModel), matching ? [matching] : [], request);
      return { items: docs.map(toUser), nextCursor };
    },
  http: (call) =>
    new Hono().get("/api/v1/users", async (c) => {
      const query = parseInput(ListUsersQuery, queryObject(c));
      const result = await call(query, c);
      return c.json({ items: result.items, nextCursor: result.nextCursor ?? null }, 200);
    }),
  operations: [
    {
      method: "get",
      path: "/api/v1/users",
      tag: TAG,
      summary: "List users",
      query: {
        schema: ListUsersQuery,
        descriptions: {
          q: "every word starts a word of the name, or all of it starts the email; case- and accent-insensitive",
          sort: "the order (default name); a leading - reverses it",
          limit: "items per page, 1 to 100 (default 20)",
          cursor: "the nextCursor of the previous page, with the same sort",
        },
      },
      responses: { 200: { description: "One page of live users", schema: UserPage, name: "UserPage" } },
    },
  ],
});
