// GetProduct on the reader: Redis first, then the read model, then a version-guarded fill
// (shared/read-side/read-one.ts).
import { readById } from "#shared/read-side/read-one.ts";
import type { ReaderDeps } from "#shared/read-side/reader-deps.ts";
import { implement } from "#shared/transport/function.ts";
import { CACHE_KIND, COLLECTION, products, toProduct } from "../product-read-model.ts";
import { getProduct } from "./get-product.ts";

const read = readById({
  kind: CACHE_KIND,
  missing: "no such product",
  model: COLLECTION,
  collection: products,
  toItem: toProduct,
});

export const getProductHandler = implement(getProduct, async (request, deps: ReaderDeps) => ({
  product: await read(request, deps),
}));
