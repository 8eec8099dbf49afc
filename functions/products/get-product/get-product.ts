// GetProduct: GET /api/v1/products/{id} -> 200 product with ETag, read through the cache.
// X-Min-Version waits, bounded, for the projection to reach that version (503 past the bound);
// If-None-Match with the current version is a 304.
import * as v from "valibot";
import { type GetProductRequest, ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { Id, Version } from "#shared/transport/fields.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { ProductSchema, TAG } from "../product-api.ts";

export const GetProductRequestSchema = v.object({
  id: Id,
  minVersion: v.optional(Version),
}) satisfies v.GenericSchema<unknown, GetProductRequest>;

export const getProduct = declareFunction({
  method: ReaderServiceService.getProduct,
  description: "Read one product by id, from the cache or the read model.",
  request: GetProductRequestSchema,
  route: {
    method: "get",
    path: "/api/v1/products/{id}",
    tag: TAG,
    summary: "Read one product",
    pathParams: { id: { schema: Id, description: "The product's id" } },
    headers: ["X-Min-Version", "If-None-Match"],
    toRequest: ({ params, headers }) => ({ id: params.id, minVersion: headers["X-Min-Version"] }),
    reply: (response) => response.product,
    missing: "no such product",
    responses: {
      200: { description: "The product", schema: ProductSchema, name: "Product", headers: ["ETag"] },
      304: { description: "If-None-Match names its current version", headers: ["ETag"] },
    },
    problems: {
      404: "no such product (or it is deleted)",
      503: "the read model did not reach X-Min-Version in time",
    },
  },
});
