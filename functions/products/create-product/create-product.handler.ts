// CreateProduct on the writer: a new UUIDv7, then the command in one transaction (product-store.ts).

import { implement } from "#shared/transport/function.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import { execute } from "../product-store.ts";
import { createProduct } from "./create-product.ts";

export const createProductHandler = implement(createProduct, async (request, deps: WriterDeps) => {
  const id = deps.newId();
  const state = await execute(deps, id, { type: "CreateProduct", id, fields: request, now: deps.clock() });
  return { id: state.id, version: state.version };
});
