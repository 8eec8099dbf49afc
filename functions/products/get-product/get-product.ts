// GetProduct: GET /api/v1/products/{id} -> 200 product with ETag, read through the cache.
// X-Min-Version waits, bounded, for the projection to reach that version (503 past the bound);
// If-None-Match with the current version is a 304.
import { ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { declareGetById } from "#shared/transport/by-id.ts";
import { ProductSchema, TAG } from "../product-api.ts";

export const getProduct = declareGetById({
  method: ReaderServiceService.getProduct,
  access: "public",
  description: "Read one product by id, from the cache or the read model.",
  noun: "product",
  path: "/api/v1/products/{id}",
  tag: TAG,
  item: { schema: ProductSchema, name: "Product" },
  reply: (response) => response.product,
});
