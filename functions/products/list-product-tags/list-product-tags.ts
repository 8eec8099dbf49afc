// ListProductTags: GET /api/v1/product-tags?limit= -> 200 {items: [{tag, count}]}: each tag with the
// number of live products carrying it, most carried first, then by name. From the product tags read
// model (product-tags-read-model.ts), kept current by its projection and rebuilt from PostgreSQL by
// `npm run rebuild -- product_tag_members`.
import * as v from "valibot";
import { type ListProductTagsRequest, ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { queryStringFields } from "#shared/transport/fields.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { fieldsOnly } from "#shared/transport/validation.ts";
import { TAG } from "../product-api.ts";

export const TAGS_DEFAULT_LIMIT = 100;

const listFields = {
  limit: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1, "limit is at least 1"), v.maxValue(1000, "limit is at most 1000")),
  ),
};

export const ListProductTagsRequestSchema = v.object(listFields) satisfies v.GenericSchema<
  unknown,
  ListProductTagsRequest
>;

export const ProductTagSchema = v.strictObject({
  tag: v.string(),
  count: v.pipe(v.number(), v.integer(), v.minValue(1), v.description("live products carrying the tag")),
});

export const ProductTagList = v.strictObject({ items: v.array(ProductTagSchema) });

export const listProductTags = declareFunction({
  method: ReaderServiceService.listProductTags,
  access: "public",
  description: "List product tags with how many live products carry each, most carried first, then by name.",
  request: ListProductTagsRequestSchema,
  route: {
    method: "get",
    path: "/api/v1/product-tags",
    tag: TAG,
    summary: "List product tags by use",
    query: {
      schema: fieldsOnly(queryStringFields(listFields)),
      descriptions: { limit: `tags to answer, 1 to 1000 (default ${TAGS_DEFAULT_LIMIT})` },
    },
    toRequest: ({ query }) => query,
    reply: ({ items }) => ({ items }),
    responses: {
      200: { description: "Tags of live products, by count then name", schema: ProductTagList, name: "ProductTagList" },
    },
  },
});
