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
import {
  type ListUsersRequest,
  type ListUsersResponse,
  ReaderServiceService,
} from "../../../proto/gen/reader/v1/reader.ts";
import { invalidInput } from "../../../shared/errors.ts";
import { defineFunction } from "../../../shared/function.ts";
import { IntegerString, queryObject } from "../../../shared/http.ts";
import { normalise, queryPrefixes } from "../../../shared/text.ts";
import { fieldsOnly, parseInput } from "../../../shared/validation.ts";
import { toUser, type UserDoc, users } from "../user-read-model.ts";

export const SORTS = ["name", "-name", "email", "-email", "createdAt", "-createdAt"] as const;
type Sort = (typeof SORTS)[number];
const SORT_FIELD = { name: "sortName", email: "sortEmail", createdAt: "createdAt" } as const;

/** Above every code point: `p` <= s < `p + TOP` holds exactly for the strings s that start with p. */
const TOP = "\u{10FFFF}";

const Limit = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(1, "limit is at least 1"),
  v.maxValue(100, "limit is at most 100"),
);
const Query = v.pipe(v.string(), v.maxLength(254, "q is at most 254 characters"));
const Cursor = v.pipe(v.string(), v.maxLength(1000));
const SortSchema = v.picklist(SORTS, `sort is one of ${SORTS.join(", ")}`);

const CURSOR_MESSAGE = "not a cursor this API gave out for this sort";

/** The HTTP query string; unknown parameters are refused, each by name. */
export const ListUsersQuery = v.pipe(
  fieldsOnly({
    q: v.optional(Query),
    sort: v.optional(SortSchema),
    limit: v.optional(v.pipe(IntegerString, Limit)),
    cursor: v.optional(Cursor),
  }),
  // Checked at the gateway too, so a bad cursor is a 400 even when the reader is unreachable.
  v.forward(
    v.check((input) => input.cursor === undefined || cursorFits(input.cursor, input.sort ?? "name"), CURSOR_MESSAGE),
    ["cursor"],
  ),
);

export const ListUsersRequestSchema = v.object({
  q: v.optional(Query),
  sort: v.optional(SortSchema),
  limit: v.optional(Limit),
  cursor: v.optional(Cursor),
}) satisfies v.GenericSchema<unknown, ListUsersRequest>;

interface CursorValue {
  sort: Sort;
  last: string;
  id: string;
}

const CursorPayload = v.strictObject({
  sort: SortSchema,
  last: v.string(),
  id: v.pipe(v.string(), v.uuid()),
});

export function encodeCursor(cursor: CursorValue): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.last, cursor.id])).toString("base64url");
}

/** What the last sort value must be, per sort field. */
const LAST_VALUE = {
  name: v.string(),
  email: v.string(),
  createdAt: v.pipe(v.string(), v.isoTimestamp()),
} as const;

function cursorFits(raw: string, sort: Sort): boolean {
  try {
    decodeCursor(raw, sort);
    return true;
  } catch {
    return false;
  }
}

export function decodeCursor(raw: string, sort: Sort): CursorValue {
  const bad = (message: string) => invalidInput(`invalid cursor: ${message}`, [{ path: "cursor", message }]);
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    throw bad("not a cursor this API gave out");
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) throw bad("not a cursor this API gave out");
  const parsed = v.safeParse(CursorPayload, { sort: decoded[0], last: decoded[1], id: decoded[2] });
  if (!parsed.success) throw bad("not a cursor this API gave out");
  if (parsed.output.sort !== sort) throw bad(`it belongs to sort=${parsed.output.sort}, not sort=${sort}`);
  const field = sort.replace("-", "") as keyof typeof LAST_VALUE;
  if (!v.is(LAST_VALUE[field], parsed.output.last)) throw bad("not a cursor this API gave out");
  return parsed.output;
}

/**
 * What `q` matches: every word of it as a prefix of a word of the name, or all of it as a prefix of
 * the email. A `q` with neither words nor other characters matches every user.
 */
export function queryFilter(q: string): Filter<UserDoc> | undefined {
  const words = queryPrefixes(q);
  const emailPrefix = normalise(q.trim());
  const branches: Filter<UserDoc>[] = [];
  if (words.length > 0) branches.push({ prefixes: { $all: words } });
  // An email has no spaces (fields.email), so a q with one can only match names.
  if (emailPrefix !== "" && !/\s/u.test(emailPrefix)) {
    branches.push({ sortEmail: { $gte: emailPrefix, $lt: `${emailPrefix}${TOP}` } });
  }
  if (branches.length === 0) return undefined;
  return branches.length === 1 ? branches[0] : { $or: branches };
}

export function buildFilter(request: ListUsersRequest, sort: Sort): Filter<UserDoc> {
  const and: Filter<UserDoc>[] = [{ deleted: false }];
  const matching = request.q === undefined ? undefined : queryFilter(request.q);
  if (matching) and.push(matching);
  if (request.cursor !== undefined) {
    const cursor = decodeCursor(request.cursor, sort);
    const field = SORT_FIELD[sort.replace("-", "") as keyof typeof SORT_FIELD];
    const op = sort.startsWith("-") ? "$lt" : "$gt";
    and.push({ $or: [{ [field]: { [op]: cursor.last } }, { [field]: cursor.last, _id: { [op]: cursor.id } }] });
  }
  return { $and: and };
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
      // The request schema admitted only one of SORTS; the wire type just says string.
      const sort = (request.sort ?? "name") as Sort;
      const limit = request.limit ?? 20;
      const field = SORT_FIELD[sort.replace("-", "") as keyof typeof SORT_FIELD];
      const direction = sort.startsWith("-") ? -1 : 1;
      const docs = await users(deps.readModel)
        .find(buildFilter(request, sort))
        .sort({ [field]: direction, _id: direction })
        .limit(limit + 1)
        .toArray();
      const page = docs.slice(0, limit);
      const last = page.at(-1);
      const lastValue = last?.[field];
      const nextCursor =
        docs.length > limit && last && lastValue !== undefined
          ? encodeCursor({ sort, last: lastValue, id: last._id })
          : undefined;
      return { items: page.map(toUser), nextCursor };
    },
  http: (call) =>
    new Hono().get("/api/v1/users", async (c) => {
      const query = parseInput(ListUsersQuery, queryObject(c));
      const result = await call(query, c);
      return c.json({ items: result.items, nextCursor: result.nextCursor ?? null }, 200);
    }),
});
