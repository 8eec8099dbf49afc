// GetProduct: GET /api/v1/products/{id} -> 200 product with ETag, read through the cache
// (shared/read-side/read-one.ts). X-Min-Version waits, bounded, for the projection to reach that version (503
// past the bound); If-None-Match with the current version is a 304.
import { Hono } from "hono";
import * as v from "valibot";
import { type GetProductRequest, type GetProductResponse, ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { notFound } from "#shared/platform/errors.ts";
import { readOne } from "#shared/read-side/read-one.ts";
import { defineFunction } from "#shared/transport/function.ts";
import { conditionalItem, countHeader, idParam } from "#shared/transport/http.ts";
import { Id, ProductSchema, TAG, Version } from "../product.ts";
import { CACHE_KIND, products, toProduct } from "../product-read-model.ts";

export const GetProductRequestSchema = v.object({
  id: Id,
  minVersion: v.optional(Version),
}) satisfies v.GenericSchema<unknown, GetProductRequest>;

export const getProduct = defineFunction({
  name: "GetProduct",
  tier: "reader",
  description: "Read one product by id, from the cache or the read model.",
  method: ReaderServiceService.getProduct,
  request: GetProductRequestSchema,
  handler:
    (deps) =>
    async ({ id, minVersion }): Promise<GetProductResponse> => {
      const product = await readOne(
        deps,
        { kind: CACHE_KIND, missing: "no such product", collection: products(deps.readModel), toItem: toProduct },
        id,
        minVersion,
      );
      return { product };
    },
  http: (call) =>
    new Hono().get("/api/v1/products/:id", async (c) => {
      const request = { id: idParam(c), minVersion: countHeader(c, "X-Min-Version") };
      const { product } = await call(request, c);
      if (!product) throw notFound("no such product");
      return conditionalItem(c, product);
    }),
  operations: [
    {
      method: "get",
      path: "/api/v1/products/{id}",
      tag: TAG,
      summary: "Read one product",
      pathParams: { id: { schema: Id, description: "The product's id" } },
      headers: ["X-Min-Version", "If-None-Match"],
      responses: {
        200: { description: "The product", schema: ProductSchema, name: "Product", headers: ["ETag"] },
        304: { description: "If-None-Match names its current version", headers: ["ETag"] },
      },
      problems: {
        404: "no such product (or it is deleted)",
        503: "the read model did not reach X-Min-Version in time",
      },
    },
  ],
});
