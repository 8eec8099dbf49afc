// GetUser: GET /api/v1/users/{id} -> 200 user with ETag, read through the cache. With a minimum
// version (X-Min-Version, read your writes) the reader waits, bounded, for the projection to reach
// it, and answers 503 past the bound. If-None-Match with the current version: 304.
import * as v from "valibot";
import { type GetUserRequest, ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { Id, Version } from "#shared/transport/fields.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { TAG, UserSchema } from "../user-api.ts";

export const GetUserRequestSchema = v.object({
  id: Id,
  minVersion: v.optional(Version),
}) satisfies v.GenericSchema<unknown, GetUserRequest>;

export const getUser = declareFunction({
  method: ReaderServiceService.getUser,
  description: "Read one user by id, from the cache or the read model.",
  request: GetUserRequestSchema,
  route: {
    method: "get",
    path: "/api/v1/users/{id}",
    tag: TAG,
    summary: "Read one user",
    pathParams: { id: { schema: Id, description: "The user's id" } },
    headers: ["X-Min-Version", "If-None-Match"],
    toRequest: ({ params, headers }) => ({ id: params.id, minVersion: headers["X-Min-Version"] }),
    reply: (response) => response.user,
    missing: "no such user",
    responses: {
      200: { description: "The user", schema: UserSchema, name: "User", headers: ["ETag"] },
      304: { description: "If-None-Match names its current version", headers: ["ETag"] },
    },
    problems: {
      404: "no such user (or it is deleted)",
      503: "the read model did not reach X-Min-Version in time",
    },
  },
});
