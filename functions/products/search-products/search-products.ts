// SearchProducts: GET /api/v1/products?q=&tag=&minPriceCents=&maxPriceCents=&sort=&limit=&cursor=
// -> 200 {items, nextCursor}. Keyset paginated: every product is listed exactly once across pages.
// One field set defines the gRPC request and, read from a query string, the HTTP query.
import * as v from "valibot";
import { ReaderServiceService, type SearchProductsRequest } from "#proto/gen/reader/v1/reader.ts";
import { CURSOR_MESSAGE, Cursor, cursorFitsSort, Limit, sortOrders } from "#shared/transport/cursor.ts";
import { queryStringFields } from "#shared/transport/fields.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { text } from "#shared/transport/text.ts";
import { fieldsOnly } from "#shared/transport/validation.ts";
import { ProductSchema, TAG } from "../product-api.ts";
import { fields, tag } from "../product-fields.ts";

/** The orders a search offers, and what a cursor's last value is in each. */
export const SORTS = sortOrders(
  { name: v.string(), priceCents: v.pipe(v.number(), v.integer()), createdAt: v.pipe(v.string(), v.isoTimestamp()) },
  "name",
);

const searchFields = {
  q: v.optional(text("q", { max: 200, padded: true })),
  tag: v.optional(tag("tag")),
  minPriceCents: v.optional(fields.priceCents),
  maxPriceCents: v.optional(fields.priceCents),
  sort: v.optional(SORTS.SortSchema),
  limit: v.optional(Limit),
  cursor: v.optional(Cursor),
};

const priceRangeOk = ({ minPriceCents: min, maxPriceCents: max }: { minPriceCents?: number; maxPriceCents?: number }) =>
  min === undefined || max === undefined || min <= max;
const PRICE_RANGE = "minPriceCents must not exceed maxPriceCents";

export const SearchProductsRequestSchema = v.pipe(
  v.object(searchFields),
  v.forward(
    v.check((input) => priceRangeOk(input), PRICE_RANGE),
    ["minPriceCents"],
  ),
) satisfies v.GenericSchema<unknown, SearchProductsRequest>;

/** The HTTP query string; unknown parameters are refused, each by name. */
export const SearchProductsQuery = v.pipe(
  fieldsOnly(queryStringFields(searchFields)),
  v.forward(
    v.check((input) => priceRangeOk(input), PRICE_RANGE),
    ["minPriceCents"],
  ),
  // Checked at the gateway too, so a bad cursor is a 400 even when the reader is unreachable.
  v.forward(
    v.check((input) => cursorFitsSort(SORTS, input), CURSOR_MESSAGE),
    ["cursor"],
  ),
);

/** One page of a search, as the API answers it. */
export const ProductPage = v.strictObject({
  items: v.array(ProductSchema),
  nextCursor: v.pipe(v.nullable(Cursor), v.description("pass it back as `cursor` for the next page; null on the last")),
});

export const searchProducts = declareFunction({
  method: ReaderServiceService.searchProducts,
  access: "public",
  description: "Search live products by word prefixes, tag and price range; sorted, cursor-paginated.",
  request: SearchProductsRequestSchema,
  route: {
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
    toRequest: ({ query }) => query,
    reply: ({ items, nextCursor }) => ({ items, nextCursor: nextCursor ?? null }),
    responses: { 200: { description: "One page of live products", schema: ProductPage, name: "ProductPage" } },
  },
});
