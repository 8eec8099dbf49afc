// DeleteProduct on the writer: the command runs in one transaction; the answer is the deletion's version.
import { implement } from "#shared/transport/function.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import { execute } from "../product-store.ts";
import { deleteProduct } from "./delete-product.ts";

export const deleteProductHandler = implement(deleteProduct, async ({ id, expectedVersion }, deps: WriterDeps) => {
  const state = await execute(deps, id, { type: "DeleteProduct", expectedVersion, now: deps.clock() });
  return { id: state.id, version: state.version };
});
