// CreateProduct: POST /api/v1/products -> 201 {id, version} with Location and ETag; 409 if the sku is taken.
import { Hono } from "hono";
import * as v from "valibot";
import {
  type CreateProductRequest,
  type CreateProductResponse,
  WriterServiceService,
} from "#proto/gen/writer/v1/writer.ts";
import { defineFunction } from "#shared/transport/function.ts";
import { etag } from "#shared/transport/http.ts";
import { readJson } from "#shared/transport/problem.ts";
import { fieldsOnly, parseInput } from "#shared/transport/validation.ts";
import { fields, ProductVersion, TAG } from "../product.ts";
import { execute } from "../product-store.ts";

/** The HTTP body: unknown fields are refused; description, stock and tags have defaults. */
export const CreateProductBody = fieldsOnly({
  sku: fields.sku,
  name: fields.name,
  description: v.optional(fields.description, ""),
  priceCents: fields.priceCents,
  currency: fields.currency,
  stock: v.optional(fields.stock, 0),
  tags: v.optional(fields.tags, []),
});

/** The gRPC request, validated again by the writer. */
export const CreateProductRequestSchema = v.object({
  sku: fields.sku,
  name: fields.name,
  description: fields.description,
  priceCents: fields.priceCents,
  currency: fields.currency,
  stock: fields.stock,
  tags: fields.tags,
}) satisfies v.GenericSchema<unknown, CreateProductRequest>;

export const createProduct = defineFunction({
  name: "CreateProduct",
  tier: "writer",
  description: "Create a product; its sku must not be taken by a live product.",
  method: WriterServiceService.createProduct,
  request: CreateProductRequestSchema,
  handler:
    (deps) =>
    async (request): Promise<CreateProductResponse> => {
      const id = deps.newId();
      const state = await execute(deps, id, { type: "CreateProduct", id, fields: request, now: deps.clock() });
      return { id: state.id, version: state.version };
    },
  http: (call) =>
    new Hono().post("/api/v1/products", async (c) => {
      const body = parseInput(CreateProductBody, await readJson(c));
      const created = await call(body, c);
      c.header("Location", `/api/v1/products/${created.id}`);
      c.header("ETag", etag(created.version));
      return c.json(created, 201);
    }),
  operations: [
    {
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
  ],
});
