// The one list: every command and query, and every projection. Each function module carries its
// tier, its gRPC method and its HTTP routes; the services mount from here.
import { createProduct } from "./products/create-product/create-product.ts";
import { deleteProduct } from "./products/delete-product/delete-product.ts";
import { getProduct } from "./products/get-product/get-product.ts";
import { productProjection } from "./products/product-read-model.ts";
import { searchProducts } from "./products/search-products/search-products.ts";
import { updateProduct } from "./products/update-product/update-product.ts";
import { createUser } from "./users/create-user/create-user.ts";
import { deleteUser } from "./users/delete-user/delete-user.ts";
import { getUser } from "./users/get-user/get-user.ts";
import { listUsers } from "./users/list-users/list-users.ts";
import { updateUser } from "./users/update-user/update-user.ts";
import { userProjection } from "./users/user-read-model.ts";

export const writerFunctions = [createProduct, updateProduct, deleteProduct, createUser, updateUser, deleteUser];
export const readerFunctions = [getProduct, searchProducts, getUser, listUsers];
export const allFunctions = [...writerFunctions, ...readerFunctions];

export const projections = [productProjection, userProjection];
