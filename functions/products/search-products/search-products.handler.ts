// SearchProducts on the reader: straight from the read model (search results are not cached),
// keyset paginated (shared/read-side/keyset.ts).
import type { Filter } from "mongodb";
import type { SearchProductsRequest } from "#proto/gen/reader/v1/reader.ts";
import { keyset } from "#shared/read-side/keyset.ts";
import type { ReaderDeps } from "#shared/read-side/reader-deps.ts";
import { queryPrefixes } from "#shared/read-side/text.ts";
import type { ReadModelDoc } from "#shared/read-side/versioned-projection.ts";
import type { SortOf } from "#shared/transport/cursor.ts";
import { implement } from "#shared/transport/function.ts";
import { COLLECTION, products, toProduct } from "../product-read-model.ts";
import { SORTS, searchProducts } from "./search-products.ts";

const paging = keyset(SORTS, { name: "sortName", priceCents: "priceCents", createdAt: "createdAt" });

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
export const buildFilter = (request: SearchProductsRequest, sort: SortOf<(typeof SORTS.names)[number]>) =>
  paging.filter(matching(request), { ...request, sort });

/** The sort a search runs (exported for tests/ferretdb/read-model-indexes.unit.spec.ts). */
export const buildSort = (sort: SortOf<(typeof SORTS.names)[number]>) => paging.sortSpec(sort);

export const searchProductsHandler = implement(searchProducts, async (request, deps: ReaderDeps) => {
  const { docs, nextCursor } = await paging.page(
    products(deps.readModel, deps.generations.live(COLLECTION)),
    matching(request),
    request,
    deps.queryTimeoutMs,
  );
  return { items: docs.map(toProduct), nextCursor };
});
