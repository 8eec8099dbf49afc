// DeleteUser: DELETE /api/v1/users/{id} (optional If-Match) -> 204. The row stays as a tombstone
// and its email becomes free for a new user; the read model keeps a tombstone too, so replays
// cannot revive it.
import * as v from "valibot";
import { type DeleteUserRequest, WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { Id, Version } from "#shared/transport/fields.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { TAG } from "../user-api.ts";

export const DeleteUserRequestSchema = v.object({
  id: Id,
  expectedVersion: v.optional(Version),
}) satisfies v.GenericSchema<unknown, DeleteUserRequest>;

export const deleteUser = declareFunction({
  method: WriterServiceService.deleteUser,
  description: "Delete a user (its email becomes free); with If-Match, only if it is still at that version.",
  request: DeleteUserRequestSchema,
  route: {
    method: "delete",
    path: "/api/v1/users/{id}",
    tag: TAG,
    summary: "Delete a user",
    pathParams: { id: { schema: Id, description: "The user's id" } },
    headers: ["If-Match"],
    toRequest: ({ params, headers }) => ({ id: params.id, expectedVersion: headers["If-Match"] }),
    responses: { 204: { description: "Deleted; the ETag is the version of the deletion", headers: ["ETag"] } },
    problems: { 404: "no such user (or it is deleted)", 412: "If-Match names another version" },
  },
});
