// The reader's handlers, one per method of ReaderService (a missing one is a type error), and the
// projections that keep its read models current.
import type { ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import type { Projection } from "#shared/read-side/projection.ts";
import type { ReaderDeps } from "#shared/read-side/reader-deps.ts";
import type { Implementation, ImplementationsOf } from "#shared/transport/function.ts";
import { getProductHandler } from "./products/get-product/get-product.handler.ts";
import { listProductTagsHandler } from "./products/list-product-tags/list-product-tags.handler.ts";
import { productProjection } from "./products/product-read-model.ts";
import { productTagsProjection } from "./products/product-tags-read-model.ts";
import { searchProductsHandler } from "./products/search-products/search-products.handler.ts";
import { getUserHandler } from "./users/get-user/get-user.handler.ts";
import { listUsersHandler } from "./users/list-users/list-users.handler.ts";
import { userProjection } from "./users/user-read-model.ts";

const handlers = {
  getProduct: getProductHandler,
  searchProducts: searchProductsHandler,
  getUser: getUserHandler,
  listUsers: listUsersHandler,
  listProductTags: listProductTagsHandler,
} satisfies ImplementationsOf<typeof ReaderServiceService, ReaderDeps>;

export const readerHandlers: Implementation<ReaderDeps>[] = Object.values(handlers);

// The product projection first: it decides each product event's outcome (projection-consumer.ts).
export const projections: Projection[] = [productProjection, userProjection, productTagsProjection];
