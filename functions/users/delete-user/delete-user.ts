// DeleteUser: DELETE /api/v1/users/{id} (optional If-Match) -> 204. The row stays as a tombstone
// and its email becomes free for a new user; the read model keeps a tombstone too, so replays
// cannot revive it.
import { Hono } from "hono";
import * as v from "valibot";
import { type DeleteUserRequest, type DeleteUserResponse, WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { defineFunction } from "#shared/transport/function.ts";
import { etag, idParam, versionHeader } from "#shared/transport/http.ts";
import { Id, TAG, Version } from "../user.ts";
import { execute } from "../user-store.ts";

export const DeleteUserRequestSchema = v.object({
  id: Id,
  expectedVersion: v.optional(Version),
}) satisfies v.GenericSchema<unknown, DeleteUserRequest>;

export const deleteUser = defineFunction({
  name: "DeleteUser",
  tier: "writer",
  description: "Delete a user (its email becomes free); with If-Match, only if it is still at that version.",
  method: WriterServiceService.deleteUser,
  request: DeleteUserRequestSchema,
  handler:
    (deps) =>
    async ({ id, expectedVersion }): Promise<DeleteUserResponse> => {
      const state = await execute(deps, id, { type: "DeleteUser", expectedVersion, now: deps.clock() });
      return { id: state.id, version: state.version };
    },
  http: (call) =>
    new Hono().delete("/api/v1/users/:id", async (c) => {
      const deleted = await call({ id: idParam(c), expectedVersion: versionHeader(c, "If-Match") }, c);
      c.header("ETag", etag(deleted.version));
      return c.body(null, 204);
    }),
  operations: [
    {
      method: "delete",
      path: "/api/v1/users/{id}",
      tag: TAG,
      summary: "Delete a user",
      pathParams: { id: { schema: Id, description: "The user's id" } },
      headers: ["If-Match"],
      responses: { 204: { description: "Deleted; the ETag is the version of the deletion", headers: ["ETag"] } },
      problems: { 404: "no such user (or it is deleted)", 412: "If-Match names another version" },
    },
  ],
});
