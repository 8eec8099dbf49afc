// UpdateProduct: PATCH /api/v1/products/{id} (partial, optional If-Match) -> 200 {id, version}.
import { Hono } from "hono";
import * as v from "valibot";
import {
  type UpdateProductRequest,
  type UpdateProductResponse,
  WriterServiceService,
} from "#proto/gen/writer/v1/writer.ts";
import { defineFunction } from "#shared/transport/function.ts";
import { etag, idParam, versionHeader } from "#shared/transport/http.ts";
import { readJson } from "#shared/transport/problem.ts";
import { fieldsOnly, parseInput } from "#shared/transport/validation.ts";
import { fields, Id, type ProductFields, ProductVersion, TAG, Version } from "../product.ts";
import { execute } from "../product-store.ts";

/** The HTTP body: any subset of the fields, at least one, nothing else. */
export const UpdateProductBody = v.pipe(
  fieldsOnly({
    sku: v.optional(fields.sku),
    name: v.optional(fields.name),
    description: v.optional(fields.description),
    priceCents: v.optional(fields.priceCents),
    currency: v.optional(fields.currency),
    stock: v.optional(fields.stock),
    tags: v.optional(fields.tags),
  }),
  v.check((patch) => Object.values(patch).some((value) => value !== undefined), "give at least one field to change"),
);

export const UpdateProductRequestSchema = v.object({
  id: Id,
  expectedVersion: v.optional(Version),
  sku: v.optional(fields.sku),
  name: v.optional(fields.name),
  description: v.optional(fields.description),
  priceCents: v.optional(fields.priceCents),
  currency: v.optional(fields.currency),
  stock: v.optional(fields.stock),
  tags: v.optional(v.object({ values: fields.tags })),
}) satisfies v.GenericSchema<unknown, UpdateProductRequest>;

export const updateProduct = defineFunction({
  name: "UpdateProduct",
  tier: "writer",
  description: "Change some fields of a product; with If-Match, only if it is still at that version.",
  method: WriterServiceService.updateProduct,
  request: UpdateProductRequestSchema,
  handler:
    (deps) =>
    async (request): Promise<UpdateProductResponse> => {
      const { id, expectedVersion, tags, ...rest } = request;
      const patch: Partial<ProductFields> = Object.fromEntries(
        Object.entries({ ...rest, tags: tags?.values }).filter(([, value]) => value !== undefined),
      );
      const state = await execute(deps, id, { type: "UpdateProduct", patch, expectedVersion, now: deps.clock() });
      return { id: state.id, version: state.version };
    },
  http: (call) =>
    new Hono().patch("/api/v1/products/:id", async (c) => {
      const id = idParam(c);
      const expectedVersion = versionHeader(c, "If-Match");
      const { tags, ...patch } = parseInput(UpdateProductBody, await readJson(c));
      const updated = await call({ id, expectedVersion, ...patch, tags: tags ? { values: tags } : undefined }, c);
      c.header("ETag", etag(updated.version));
      return c.json(updated, 200);
    }),
  operations: [
    {
      method: "patch",
      path: "/api/v1/products/{id}",
      tag: TAG,
      summary: "Change some fields of a product",
      pathParams: { id: { schema: Id, description: "The product's id" } },
      headers: ["If-Match"],
      body: { schema: UpdateProductBody, example: { priceCents: 999 } },
      responses: {
        200: { description: "Changed: its id and new version", schema: ProductVersion, headers: ["ETag"] },
      },
      problems: {
        404: "no such product (or it is deleted)",
        409: "the new sku is taken by another live product",
        412: "If-Match names another version",
      },
    },
  ],
});
