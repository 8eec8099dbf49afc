// DeleteUser: DELETE /api/v1/users/{id} (optional If-Match) -> 204. The row stays as a tombstone
// and its email becomes free for a new user; the read model keeps a tombstone too, so replays
// cannot revive it.
import { WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { declareDeleteById } from "#shared/transport/by-id.ts";
import { TAG, USER_ADMIN } from "../user-api.ts";

export const deleteUser = declareDeleteById({
  method: WriterServiceService.deleteUser,
  access: { roles: [USER_ADMIN] },
  description: "Delete a user (its email becomes free); with If-Match, only if it is still at that version.",
  noun: "user",
  path: "/api/v1/users/{id}",
  tag: TAG,
});
