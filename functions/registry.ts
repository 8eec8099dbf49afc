// The one list of every command and query, as the gateway sees them: declarations only (schemas and
// routes), keyed by their gRPC method. The type checker holds each list to its service in proto/:
// an rpc without a declaration, or a declaration of the wrong method, does not compile. The
// handlers are bound in writer-registry.ts and reader-registry.ts, which the gateway never loads.
import { ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import type { DeclarationsOf, FunctionDeclaration } from "#shared/transport/function.ts";
import { createProduct } from "./products/create-product/create-product.ts";
import { deleteProduct } from "./products/delete-product/delete-product.ts";
import { getProduct } from "./products/get-product/get-product.ts";
import { listProductTags } from "./products/list-product-tags/list-product-tags.ts";
import { searchProducts } from "./products/search-products/search-products.ts";
import { updateProduct } from "./products/update-product/update-product.ts";
import { createUser } from "./users/create-user/create-user.ts";
import { deleteUser } from "./users/delete-user/delete-user.ts";
import { getUser } from "./users/get-user/get-user.ts";
import { listUsers } from "./users/list-users/list-users.ts";
import { updateUser } from "./users/update-user/update-user.ts";

export const writerDeclarations = {
  createProduct,
  updateProduct,
  deleteProduct,
  createUser,
  updateUser,
  deleteUser,
} satisfies DeclarationsOf<typeof WriterServiceService>;

export const readerDeclarations = {
  getProduct,
  searchProducts,
  getUser,
  listUsers,
  listProductTags,
} satisfies DeclarationsOf<typeof ReaderServiceService>;

export const writerFunctions: FunctionDeclaration[] = Object.values(writerDeclarations);
export const readerFunctions: FunctionDeclaration[] = Object.values(readerDeclarations);
export const allFunctions: FunctionDeclaration[] = [...writerFunctions, ...readerFunctions];

// Each declaration sits under the key of its own method (the type check above cannot see a swap of
// two methods with the same request and response types).
for (const [service, declarations] of [
  [WriterServiceService, writerDeclarations],
  [ReaderServiceService, readerDeclarations],
] as const) {
  for (const [key, declaration] of Object.entries(declarations)) {
    const method = (service as Record<string, { path: string }>)[key];
    if (method?.path !== declaration.path) throw new Error(`registry: ${key} holds ${declaration.path}`);
  }
}
