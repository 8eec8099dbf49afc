// ListUsers: GET /api/v1/users?q=&sort=&limit=&cursor= -> 200 {items, nextCursor}. Keyset
// paginated: the opaque cursor holds the sort, the last sort value and the last id, so every user
// is listed exactly once across pages even while others are added. One field set defines the gRPC
// request and, read from a query string, the HTTP query.
//
// `q` matches a user when every word of it starts a word of the name ("ad lov" finds "Ada
// Lovelace"), or when the whole of it starts the email ("ada.l@ex" finds "Ada.L@example.com"),
// case- and accent-insensitively.
import * as v from "valibot";
import { type ListUsersRequest, ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { CURSOR_MESSAGE, Cursor, cursorFitsSort, Limit, sortOrders } from "#shared/transport/cursor.ts";
import { queryStringFields } from "#shared/transport/fields.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { text } from "#shared/transport/text.ts";
import { fieldsOnly } from "#shared/transport/validation.ts";
import { TAG, USER_ADMIN, UserSchema } from "../user-api.ts";

/** The orders a listing offers, and what a cursor's last value is in each. */
export const SORTS = sortOrders(
  { name: v.string(), email: v.string(), createdAt: v.pipe(v.string(), v.isoTimestamp()) },
  "name",
);

const listFields = {
  q: v.optional(text("q", { max: 254, padded: true })),
  sort: v.optional(SORTS.SortSchema),
  limit: v.optional(Limit),
  cursor: v.optional(Cursor),
};

export const ListUsersRequestSchema = v.object(listFields) satisfies v.GenericSchema<unknown, ListUsersRequest>;

/** The HTTP query string; unknown parameters are refused, each by name. */
export const ListUsersQuery = v.pipe(
  fieldsOnly(queryStringFields(listFields)),
  // Checked at the gateway too, so a bad cursor is a 400 even when the reader is unreachable.
  v.forward(
    v.check((input) => cursorFitsSort(SORTS, input), CURSOR_MESSAGE),
    ["cursor"],
  ),
);

/** One page of a listing, as the API answers it. */
export const UserPage = v.strictObject({
  items: v.array(UserSchema),
  nextCursor: v.pipe(v.nullable(Cursor), v.description("pass it back as `cursor` for the next page; null on the last")),
});

export const listUsers = declareFunction({
  method: ReaderServiceService.listUsers,
  access: { roles: [USER_ADMIN] },
  description:
    "List live users, optionally matching q by name word prefixes or email prefix; sorted, cursor-paginated.",
  request: ListUsersRequestSchema,
  route: {
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
    toRequest: ({ query }) => query,
    reply: ({ items, nextCursor }) => ({ items, nextCursor: nextCursor ?? null }),
    responses: { 200: { description: "One page of live users", schema: UserPage, name: "UserPage" } },
  },
});
