// GetUser: GET /api/v1/users/{id} -> 200 user with ETag. Redis first, then the read model, then a
// version-guarded fill. With a minimum version (X-Min-Version, read your writes) it waits, bounded,
// for the projection to reach it, and answers 503 past the bound. If-None-Match with the current
// version: 304.
import { Hono } from "hono";
import * as v from "valibot";
import { type GetUserRequest, type GetUserResponse, ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { notFound } from "#shared/platform/errors.ts";
import { readOne } from "#shared/read-side/read-one.ts";
import { defineFunction } from "#shared/transport/function.ts";
import { conditionalItem, countHeader, idParam } from "#shared/transport/http.ts";
import { Id, TAG, UserSchema, Version } from "../user.ts";
import { CACHE_KIND, toUser, users } from "../user-read-model.ts";

export const GetUserRequestSchema = v.object({
  id: Id,
  minVersion: v.optional(Version),
}) satisfies v.GenericSchema<unknown, GetUserRequest>;

export const getUser = defineFunction({
  name: "GetUser",
  tier: "reader",
  description: "Read one user by id, from the cache or the read model.",
  method: ReaderServiceService.getUser,
  request: GetUserRequestSchema,
  handler:
    (deps) =>
    async ({ id, minVersion }): Promise<GetUserResponse> => {
      const user = await readOne(
        deps,
        { kind: CACHE_KIND, missing: "no such user", collection: users(deps.readModel), toItem: toUser },
        id,
        minVersion,
      );
      return { user };
    },
  http: (call) =>
    new Hono().get("/api/v1/users/:id", async (c) => {
      const request = { id: idParam(c), minVersion: countHeader(c, "X-Min-Version") };
      const { user } = await call(request, c);
      if (!user) throw notFound("no such user");
      return conditionalItem(c, user);
    }),
  operations: [
    {
      method: "get",
      path: "/api/v1/users/{id}",
      tag: TAG,
      summary: "Read one user",
      pathParams: { id: { schema: Id, description: "The user's id" } },
      headers: ["X-Min-Version", "If-None-Match"],
      responses: {
        200: { description: "The user", schema: UserSchema, name: "User", headers: ["ETag"] },
        304: { description: "If-None-Match names its current version", headers: ["ETag"] },
      },
      problems: {
        404: "no such user (or it is deleted)",
        503: "the read model did not reach X-Min-Version in time",
      },
    },
  ],
});
