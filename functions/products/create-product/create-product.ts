// CreateProduct: POST /api/v1/products -> 201 {id, version} with Location and ETag; 409 if the sku is taken.
import * as v from "valibot";
import { type CreateProductRequest, WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { fieldsOnly } from "#shared/transport/validation.ts";
import { CATALOG_ADMIN, ProductVersion, TAG } from "../product-api.ts";
import { fields } from "../product-fields.ts";

/** The gRPC request, validated again by the writer: every field given. */
export const CreateProductRequestSchema = v.object(fields) satisfies v.GenericSchema<unknown, CreateProductRequest>;

/** The HTTP body: the same fields, unknown ones refused; description, stock and tags have defaults. */
export const CreateProductBody = fieldsOnly({
  ...fields,
  description: v.optional(fields.description, ""),
  stock: v.optional(fields.stock, 0),
  tags: v.optional(fields.tags, []),
});

export const createProduct = declareFunction({
  method: WriterServiceService.createProduct,
  access: { roles: [CATALOG_ADMIN] },
  description: "Create a product; its sku must not be taken by a live product.",
  request: CreateProductRequestSchema,
  route: {
    method: "post",
    path: "/api/v1/products",
    tag: TAG,
    summary: "Create a product",
    body: {
      schema: CreateProductBody,
      example: {
        sku: "W-1",
        name: "Blue Widget",
        description: "Sturdy",
        priceCents: 1299,
        currency: "EUR",
        stock: 5,
        tags: ["tools"],
      },
    },
    toRequest: ({ body }) => body,
    responses: {
      201: {
        description: "Created: its id and version 1",
        schema: ProductVersion,
        name: "ProductVersion",
        headers: ["Location", "ETag"],
      },
    },
    problems: { 409: "the sku is taken by a live product" },
  },
});
