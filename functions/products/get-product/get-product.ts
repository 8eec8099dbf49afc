// GetProduct: GET /api/v1/products/{id} -> 200 product with ETag. Redis first, then the read model,
// then a version-guarded fill. With a minimum version (read your writes) it waits, bounded, for the
// projection to reach it, and answers 503 past the bound. If-None-Match with the current version: 304.
import { Hono } from "hono";
import * as v from "valibot";
import {
  type GetProductRequest,
  type GetProductResponse,
  type Product,
  ReaderServiceService,
} from "../../../proto/gen/reader/v1/reader.ts";
import { notFound, unavailable } from "../../../shared/errors.ts";
import { defineFunction } from "../../../shared/function.ts";
import { countHeader, etag, etagMatches, idParam } from "../../../shared/http.ts";
import type { ReaderDeps } from "../../../shared/tiers.ts";
import { Id, Version } from "../product.ts";
import { CACHE_KIND, products, toProduct } from "../product-read-model.ts";

export const GetProductRequestSchema = v.object({
  id: Id,
  minVersion: v.optional(Version),
}) satisfies v.GenericSchema<unknown, GetProductRequest>;

const POLL_MS = 25;

async function lookup(deps: ReaderDeps, id: string, minVersion: number): Promise<Product | "deleted" | undefined> {
  const cached = await deps.cache.get(CACHE_KIND, id);
  if (cached && cached.version >= minVersion) return JSON.parse(cached.body) as Product;
  const doc = await products(deps.readModel).findOne({ _id: id });
  if (!doc || doc.version < minVersion) return undefined;
  if (doc.deleted) return "deleted";
  const product = toProduct(doc);
  await deps.cache.fill(CACHE_KIND, id, product.version, JSON.stringify(product));
  return product;
}

export const getProduct = defineFunction({
  name: "GetProduct",
  tier: "reader",
  description: "Read one product by id, from the cache or the read model.",
  method: ReaderServiceService.getProduct,
  request: GetProductRequestSchema,
  handler:
    (deps) =>
    async ({ id, minVersion }): Promise<GetProductResponse> => {
      const deadline = Date.now() + deps.minVersionWaitMs;
      for (;;) {
        const found = await lookup(deps, id, minVersion ?? 0);
        if (found === "deleted") throw notFound("no such product");
        if (found) return { product: found };
        if (minVersion === undefined) throw notFound("no such product");
        if (Date.now() >= deadline) throw unavailable(`the read model has not reached version ${minVersion} yet`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
  http: (call) =>
    new Hono().get("/api/v1/products/:id", async (c) => {
      const request = { id: idParam(c), minVersion: countHeader(c, "X-Min-Version") };
      const ifNoneMatch = c.req.header("If-None-Match");
      const { product } = await call(request, c);
      if (!product) throw notFound("no such product");
      c.header("ETag", etag(product.version));
      if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, product.version)) return c.body(null, 304);
      return c.json(product, 200);
    }),
});
