// DeleteProduct: DELETE /api/v1/products/{id} (optional If-Match) -> 204. The row stays as a
// tombstone (its sku becomes free); the read model keeps a tombstone too, so replays cannot revive it.
import * as v from "valibot";
import { type DeleteProductRequest, WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { Id, Version } from "#shared/transport/fields.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { TAG } from "../product-api.ts";

export const DeleteProductRequestSchema = v.object({
  id: Id,
  expectedVersion: v.optional(Version),
}) satisfies v.GenericSchema<unknown, DeleteProductRequest>;

export const deleteProduct = declareFunction({
  method: WriterServiceService.deleteProduct,
  description: "Delete a product; with If-Match, only if it is still at that version.",
  request: DeleteProductRequestSchema,
  route: {
    method: "delete",
    path: "/api/v1/products/{id}",
    tag: TAG,
    summary: "Delete a product",
    pathParams: { id: { schema: Id, description: "The product's id" } },
    headers: ["If-Match"],
    toRequest: ({ params, headers }) => ({ id: params.id, expectedVersion: headers["If-Match"] }),
    responses: { 204: { description: "Deleted; the ETag is the version of the deletion", headers: ["ETag"] } },
    problems: { 404: "no such product (or it is deleted)", 412: "If-Match names another version" },
  },
});
