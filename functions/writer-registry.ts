// The writer's handlers, one per method of WriterService (a missing one is a type error).
import type { WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import type { Implementation, ImplementationsOf } from "#shared/transport/function.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import { createProductHandler } from "./products/create-product/create-product.handler.ts";
import { deleteProductHandler } from "./products/delete-product/delete-product.handler.ts";
import { updateProductHandler } from "./products/update-product/update-product.handler.ts";
import { createUserHandler } from "./users/create-user/create-user.handler.ts";
import { deleteUserHandler } from "./users/delete-user/delete-user.handler.ts";
import { updateUserHandler } from "./users/update-user/update-user.handler.ts";

const handlers = {
  createProduct: createProductHandler,
  updateProduct: updateProductHandler,
  deleteProduct: deleteProductHandler,
  createUser: createUserHandler,
  updateUser: updateUserHandler,
  deleteUser: deleteUserHandler,
} satisfies ImplementationsOf<typeof WriterServiceService, WriterDeps>;

export const writerHandlers: Implementation<WriterDeps>[] = Object.values(handlers);
