// SearchProducts: GET /api/v1/products?q=&tag=&minPriceCents=&maxPriceCents=&sort=&limit=&cursor=
// -> 200 {items, nextCursor}. Straight from the read model (search results are not cached), keyset
// paginated: the opaque cursor holds the sort, the last sort value and the last id, so every
// product is listed exactly once across pages even while others are added.
import { Hono } from "hono";
import type { Filter } from "mongodb";
import * as v from "valibot";
import {
  ReaderServiceService,
  type SearchProductsRequest,
  type SearchProductsResponse,
} from "../../../proto/gen/reader/v1/reader.ts";
import { invalidInput } from "../../../shared/errors.ts";
import { defineFunction } from "../../../shared/function.ts";
import { IntegerString, queryObject } from "../../../shared/http.ts";
import { queryPrefixes } from "../../../shared/text.ts";
import { fieldsOnly, parseInput } from "../../../shared/validation.ts";
import { fields } from "../product.ts";
import { type ProductDoc, products, toProduct } from "../product-read-model.ts";

export const SORTS = ["name", "-name", "priceCents", "-priceCents", "createdAt", "-createdAt"] as const;
type Sort = (typeof SORTS)[number];
const SORT_FIELD = { name: "sortName", priceCents: "priceCents", createdAt: "createdAt" } as const;

const Price = fields.priceCents;
const Limit = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(1, "limit is at least 1"),
  v.maxValue(100, "limit is at most 100"),
);
const Query = v.pipe(v.string(), v.maxLength(200, "q is at most 200 characters"));
const Tag = v.pipe(v.string(), v.trim(), v.toLowerCase(), v.minLength(1), v.maxLength(40));
const Cursor = v.pipe(v.string(), v.maxLength(1000));
const SortSchema = v.picklist(SORTS, `sort is one of ${SORTS.join(", ")}`);

const priceRangeOk = (input: { minPriceCents?: number; maxPriceCents?: number }) =>
  input.minPriceCents === undefined || input.maxPriceCents === undefined || input.minPriceCents <= input.maxPriceCents;
const PRICE_RANGE_MESSAGE = "minPriceCents must not exceed maxPriceCents";
const CURSOR_MESSAGE = "not a cursor this API gave out for this sort";

/** The HTTP query string; unknown parameters are refused. */
export const SearchProductsQuery = v.pipe(
  fieldsOnly({
    q: v.optional(Query),
    tag: v.optional(Tag),
    minPriceCents: v.optional(v.pipe(IntegerString, Price)),
    maxPriceCents: v.optional(v.pipe(IntegerString, Price)),
    sort: v.optional(SortSchema),
    limit: v.optional(v.pipe(IntegerString, Limit)),
    cursor: v.optional(Cursor),
  }),
  v.forward(
    v.check((input) => priceRangeOk(input), PRICE_RANGE_MESSAGE),
    ["minPriceCents"],
  ),
  // Checked at the gateway too, so a bad cursor is a 400 even when the reader is unreachable.
  v.forward(
    v.check((input) => input.cursor === undefined || cursorFits(input.cursor, input.sort ?? "name"), CURSOR_MESSAGE),
    ["cursor"],
  ),
);

export const SearchProductsRequestSchema = v.pipe(
  v.object({
    q: v.optional(Query),
    tag: v.optional(Tag),
    minPriceCents: v.optional(Price),
    maxPriceCents: v.optional(Price),
    sort: v.optional(SortSchema),
    limit: v.optional(Limit),
    cursor: v.optional(Cursor),
  }),
  v.forward(
    v.check((input) => priceRangeOk(input), PRICE_RANGE_MESSAGE),
    ["minPriceCents"],
  ),
) satisfies v.GenericSchema<unknown, SearchProductsRequest>;

interface CursorValue {
  sort: Sort;
  last: string | number;
  id: string;
}

const CursorPayload = v.strictObject({
  sort: SortSchema,
  last: v.union([v.string(), v.number()]),
  id: v.pipe(v.string(), v.uuid()),
});

export function encodeCursor(cursor: CursorValue): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.last, cursor.id])).toString("base64url");
}

/** What the last sort value must be, per sort field. */
const LAST_VALUE = {
  name: v.string(),
  priceCents: v.pipe(v.number(), v.integer()),
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

export function buildFilter(request: SearchProductsRequest, sort: Sort): Filter<ProductDoc> {
  const and: Filter<ProductDoc>[] = [{ deleted: false }];
  const prefixes = request.q === undefined ? [] : queryPrefixes(request.q);
  if (prefixes.length > 0) and.push({ prefixes: { $all: prefixes } });
  if (request.tag !== undefined) and.push({ tags: request.tag });
  if (request.minPriceCents !== undefined) and.push({ priceCents: { $gte: request.minPriceCents } });
  if (request.maxPriceCents !== undefined) and.push({ priceCents: { $lte: request.maxPriceCents } });
  if (request.cursor !== undefined) {
    const cursor = decodeCursor(request.cursor, sort);
    const field = SORT_FIELD[sort.replace("-", "") as keyof typeof SORT_FIELD];
    const op = sort.startsWith("-") ? "$lt" : "$gt";
    and.push({ $or: [{ [field]: { [op]: cursor.last } }, { [field]: cursor.last, _id: { [op]: cursor.id } }] });
  }
  return { $and: and };
}

export const searchProducts = defineFunction({
  name: "SearchProducts",
  tier: "reader",
  description: "Search live products by word prefixes, tag and price range; sorted, cursor-paginated.",
  method: ReaderServiceService.searchProducts,
  request: SearchProductsRequestSchema,
  handler:
    (deps) =>
    async (request): Promise<SearchProductsResponse> => {
      // The request schema admitted only one of SORTS; the wire type just says string.
      const sort = (request.sort ?? "name") as Sort;
      const limit = request.limit ?? 20;
      const field = SORT_FIELD[sort.replace("-", "") as keyof typeof SORT_FIELD];
      const direction = sort.startsWith("-") ? -1 : 1;
      const docs = await products(deps.readModel)
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
      return { items: page.map(toProduct), nextCursor };
    },
  http: (call) =>
    new Hono().get("/api/v1/products", async (c) => {
      const query = parseInput(SearchProductsQuery, queryObject(c));
      const result = await call(query, c);
      return c.json({ items: result.items, nextCursor: result.nextCursor ?? null }, 200);
    }),
});
