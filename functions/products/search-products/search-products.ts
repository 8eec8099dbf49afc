// SearchProducts: GET /api/v1/products?q=&tag=&minPriceCents=&maxPriceCents=&sort=&limit=&cursor=
// -> 200 {items, nextCursor}. Straight from the read model (search results are not cached), keyset
// paginated (shared/read-side/keyset.ts): every product is listed exactly once across pages.
import { Hono } from "hono";
import type { Filter } from "mongodb";
import * as v from "valibot";
import {
  ReaderServiceService,
  type SearchProductsRequest,
  type SearchProductsResponse,
} from "#proto/gen/reader/v1/reader.ts";
import { CURSOR_MESSAGE, Cursor, keyset, Limit, type SortOf } from "#shared/read-side/keyset.ts";
import { queryPrefixes } from "#shared/read-side/text.ts";
import type { ReadModelDoc } from "#shared/read-side/versioned-projection.ts";
import { defineFunction } from "#shared/transport/function.ts";
import { IntegerString, queryObject } from "#shared/transport/http.ts";
import { fieldsOnly, parseInput, storableText } from "#shared/transport/validation.ts";
import { fields, ProductSchema, TAG } from "../product.ts";
import { products, toProduct } from "../product-read-model.ts";

const paging = keyset(
  {
    name: { field: "sortName", last: v.string() },
    priceCents: { field: "priceCents", last: v.pipe(v.number(), v.integer()) },
    createdAt: { field: "createdAt", last: v.pipe(v.string(), v.isoTimestamp()) },
  },
  "name",
);
type Sort = SortOf<"name" | "priceCents" | "createdAt">;
export const SORTS = paging.sorts;

const Price = fields.priceCents;
const Query = v.pipe(v.string(), v.maxLength(200, "q is at most 200 characters"), storableText("q"));
const Tag = v.pipe(v.string(), v.trim(), v.toLowerCase(), v.minLength(1), v.maxLength(40), storableText("tag"));

const priceRangeOk = (input: { minPriceCents?: number; maxPriceCents?: number }) =>
  input.minPriceCents === undefined || input.maxPriceCents === undefined || input.minPriceCents <= input.maxPriceCents;
const PRICE_RANGE_MESSAGE = "minPriceCents must not exceed maxPriceCents";

/** One page of a search, as the API answers it. */
export const ProductPage = v.strictObject({
  items: v.array(ProductSchema),
  nextCursor: v.pipe(v.nullable(Cursor), v.description("pass it back as `cursor` for the next page; null on the last")),
});

/** The HTTP query string; unknown parameters are refused, each by name. */
export const SearchProductsQuery = v.pipe(
  fieldsOnly({
    q: v.optional(Query),
    tag: v.optional(Tag),
    minPriceCents: v.optional(v.pipe(IntegerString, Price)),
    maxPriceCents: v.optional(v.pipe(IntegerString, Price)),
    sort: v.optional(paging.SortSchema),
    limit: v.optional(v.pipe(IntegerString, Limit)),
    cursor: v.optional(Cursor),
  }),
  v.forward(
    v.check((input) => priceRangeOk(input), PRICE_RANGE_MESSAGE),
    ["minPriceCents"],
  ),
  // Checked at the gateway too, so a bad cursor is a 400 even when the reader is unreachable.
  v.forward(
    v.check((input) => input.cursor === undefined || paging.fits(input.cursor, input.sort ?? "name"), CURSOR_MESSAGE),
    ["cursor"],
  ),
);

export const SearchProductsRequestSchema = v.pipe(
  v.object({
    q: v.optional(Query),
    tag: v.optional(Tag),
    minPriceCents: v.optional(Price),
    maxPriceCents: v.optional(Price),
    sort: v.optional(paging.SortSchema),
    limit: v.optional(Limit),
    cursor: v.optional(Cursor),
  }),
  v.forward(
    v.check((input) => priceRangeOk(input), PRICE_RANGE_MESSAGE),
    ["minPriceCents"],
  ),
) satisfies v.GenericSchema<unknown, SearchProductsRequest>;

export const encodeCursor = (cursor: { sort: Sort; last: string | number; id: string }) =>
  paging.encode(cursor.sort, cursor.last, cursor.id);
export const decodeCursor = (raw: string, sort: Sort) => ({ sort, ...paging.decode(raw, sort) });

/** What the query matches, besides liveness and the cursor. */
function matching(request: SearchProductsRequest): Filter<ReadModelDoc>[] {
  const filters: Filter<ReadModelDoc>[] = [];
  const prefixes = request.q === undefined ? [] : queryPrefixes(request.q);
  if (prefixes.length > 0) filters.push({ prefixes: { $all: prefixes } });
  if (request.tag !== undefined) filters.push({ tags: request.tag });
  if (request.minPriceCents !== undefined) filters.push({ priceCents: { $gte: request.minPriceCents } });
  if (request.maxPriceCents !== undefined) filters.push({ priceCents: { $lte: request.maxPriceCents } });
  return filters;
}

/** The whole filter a search runs (exported for its unit tests). */
export const buildFilter = (request: SearchProductsRequest, sort: Sort) =>
  paging.filter(matching(request), { ...request, sort });

export const searchProducts = defineFunction({
  name: "SearchProducts",
  tier: "reader",
  description: "Search live products by word prefixes, tag and price range; sorted, cursor-paginated.",
  method: ReaderServiceService.searchProducts,
  request: SearchProductsRequestSchema,
  handler:
    (deps) =>
    async (request): Promise<SearchProductsResponse> => {
      const { docs, nextCursor } = await paging.page(products(deps.readModel), matching(request), request);
      return { items: docs.map(toProduct), nextCursor };
    },
  http: (call) =>
    new Hono().get("/api/v1/products", async (c) => {
      const query = parseInput(SearchProductsQuery, queryObject(c));
      const result = await call(query, c);
      return c.json({ items: result.items, nextCursor: result.nextCursor ?? null }, 200);
    }),
  operations: [
    {
      method: "get",
      path: "/api/v1/products",
      tag: TAG,
      summary: "Search products",
      query: {
        schema: SearchProductsQuery,
        descriptions: {
          q: "every word must start a word of the name or description, case- and accent-insensitively",
          tag: "only products with this tag",
          minPriceCents: "lowest price, in minor units",
          maxPriceCents: "highest price, in minor units",
          sort: "the order (default name); a leading - reverses it",
          limit: "items per page, 1 to 100 (default 20)",
          cursor: "the nextCursor of the previous page, with the same sort",
        },
      },
      responses: { 200: { description: "One page of live products", schema: ProductPage, name: "ProductPage" } },
    },
  ],
});
