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

const paging = keyset(SORTS, {
  name: { field: "sortName", least: "" },
  priceCents: { field: "priceCents", least: Number.MIN_SAFE_INTEGER },
  createdAt: { field: "createdAt", least: "" },
});

/**
 * A condition every match of `prefixes` meets anyway, or none: the longest word's prefix one
 * character shorter (a word starting with "heirl" starts with "heir"), unless q has it already.
 * It is for FerretDB's PostgreSQL, which costs each condition as if it were independent of the
 * others and of the sort's order. q's words come from the name, so the matches of a q sorted by
 * name sit together: walking `by_name` from the start to fill a page read a third of 100k products
 * (0.67 s), where collecting the q's 1,000 matches through `prefixes_gin` and sorting them took
 * 50 ms. With a second condition PostgreSQL expects a hundredth of the matches and collects them;
 * without one, it judged the walk cheaper (docs/architecture.md, "FerretDB pushdown").
 */
export function impliedPrefix(prefixes: readonly string[]): string | undefined {
  const longest = prefixes
    .map((prefix) => [...prefix])
    .reduce<string[]>((best, chars) => (chars.length > best.length ? chars : best), []);
  if (longest.length < 2) return undefined;
  const shorter = longest.slice(0, -1).join("");
  return prefixes.includes(shorter) ? undefined : shorter;
}

/** What the query matches, besides liveness and the cursor. */
function matching(request: SearchProductsRequest): Filter<ReadModelDoc>[] {
  const filters: Filter<ReadModelDoc>[] = [];
  const prefixes = request.q === undefined ? [] : queryPrefixes(request.q);
  if (prefixes.length > 0) filters.push({ prefixes: { $all: prefixes } });
  const implied = impliedPrefix(prefixes);
  if (implied !== undefined) filters.push({ prefixes: implied });
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
