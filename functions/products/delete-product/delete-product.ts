// DeleteProduct: DELETE /api/v1/products/{id} (optional If-Match) -> 204. The row stays as a
// tombstone (its sku becomes free); the read model keeps a tombstone too, so replays cannot revive it.
import { WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { declareDeleteById } from "#shared/transport/by-id.ts";
import { CATALOG_ADMIN, TAG } from "../product-api.ts";

export const deleteProduct = declareDeleteById({
  method: WriterServiceService.deleteProduct,
  access: { roles: [CATALOG_ADMIN] },
  description: "Delete a product; with If-Match, only if it is still at that version.",
  noun: "product",
  path: "/api/v1/products/{id}",
  tag: TAG,
});
