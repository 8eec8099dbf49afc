// UpdateProduct: PATCH /api/v1/products/{id} (partial, optional If-Match) -> 200 {id, version}.
import * as v from "valibot";
import { type UpdateProductRequest, WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { Id, Version } from "#shared/transport/fields.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { fieldsOnly } from "#shared/transport/validation.ts";
import { CATALOG_ADMIN, ProductVersion, TAG } from "../product-api.ts";
import { fields } from "../product-fields.ts";

const patchFields = v.partial(v.object(fields)).entries;

/** The HTTP body: any subset of the fields, at least one, nothing else. */
export const UpdateProductBody = v.pipe(fieldsOnly(patchFields), v.minEntries(1, "give at least one field to change"));

/** The gRPC request: the id, the expected version, and the same fields (tags wrapped: proto3 cannot tell [] from absent). */
export const UpdateProductRequestSchema = v.object({
  id: Id,
  expectedVersion: v.optional(Version),
  ...patchFields,
  tags: v.optional(v.object({ values: fields.tags })),
}) satisfies v.GenericSchema<unknown, UpdateProductRequest>;

export const updateProduct = declareFunction({
  method: WriterServiceService.updateProduct,
  access: { roles: [CATALOG_ADMIN] },
  description: "Change some fields of a product; with If-Match, only if it is still at that version.",
  request: UpdateProductRequestSchema,
  route: {
    method: "patch",
    path: "/api/v1/products/{id}",
    tag: TAG,
    summary: "Change some fields of a product",
    pathParams: { id: { schema: Id, description: "The product's id" } },
    headers: ["If-Match"],
    body: { schema: UpdateProductBody, example: { priceCents: 999 } },
    toRequest: ({ params, headers, body: { tags, ...patch } }) => ({
      id: params.id,
      expectedVersion: headers["If-Match"],
      ...patch,
      tags: tags ? { values: tags } : undefined,
    }),
    responses: {
      200: { description: "Changed: its id and new version", schema: ProductVersion, headers: ["ETag"] },
    },
    problems: {
      404: "no such product (or it is deleted)",
      409: "the new sku is taken by another live product",
      412: "If-Match names another version",
    },
  },
});
