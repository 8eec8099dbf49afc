// DeleteProduct: DELETE /api/v1/products/{id} (optional If-Match) -> 204. The row stays as a
// tombstone (its sku becomes free); the read model keeps a tombstone too, so replays cannot revive it.
import { Hono } from "hono";
import * as v from "valibot";
import {
  type DeleteProductRequest,
  type DeleteProductResponse,
  WriterServiceService,
} from "#proto/gen/writer/v1/writer.ts";
import { defineFunction } from "#shared/transport/function.ts";
import { etag, idParam, versionHeader } from "#shared/transport/http.ts";
import { Id, TAG, Version } from "../product.ts";
import { execute } from "../product-store.ts";

export const DeleteProductRequestSchema = v.object({
  id: Id,
  expectedVersion: v.optional(Version),
}) satisfies v.GenericSchema<unknown, DeleteProductRequest>;

export const deleteProduct = defineFunction({
  name: "DeleteProduct",
  tier: "writer",
  description: "Delete a product; with If-Match, only if it is still at that version.",
  method: WriterServiceService.deleteProduct,
  request: DeleteProductRequestSchema,
  handler:
    (deps) =>
    async ({ id, expectedVersion }): Promise<DeleteProductResponse> => {
      const state = await execute(deps, id, { type: "DeleteProduct", expectedVersion, now: deps.clock() });
      return { id: state.id, version: state.version };
    },
  http: (call) =>
    new Hono().delete("/api/v1/products/:id", async (c) => {
      const deleted = await call({ id: idParam(c), expectedVersion: versionHeader(c, "If-Match") }, c);
      c.header("ETag", etag(deleted.version));
      return c.body(null, 204);
    }),
  operations: [
    {
      method: "delete",
      path: "/api/v1/products/{id}",
      tag: TAG,
      summary: "Delete a product",
      pathParams: { id: { schema: Id, description: "The product's id" } },
      headers: ["If-Match"],
      responses: { 204: { description: "Deleted; the ETag is the version of the deletion", headers: ["ETag"] } },
      problems: { 404: "no such product (or it is deleted)", 412: "If-Match names another version" },
    },
  ],
});
