// UpdateProduct on the writer: the fields given become the patch; the command runs in one transaction.
import { implement } from "#shared/transport/function.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import type { ProductFields } from "../product.ts";
import { execute } from "../product-store.ts";
import { updateProduct } from "./update-product.ts";

export const updateProductHandler = implement(updateProduct, async (request, deps: WriterDeps) => {
  const { id, expectedVersion, tags, ...rest } = request;
  const patch: Partial<ProductFields> = Object.fromEntries(
    Object.entries({ ...rest, tags: tags?.values }).filter(([, value]) => value !== undefined),
  );
  const state = await execute(deps, id, { type: "UpdateProduct", patch, expectedVersion, now: deps.clock() });
  return { id: state.id, version: state.version };
});
