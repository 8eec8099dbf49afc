// GetUser: GET /api/v1/users/{id} -> 200 user with ETag, read through the cache. With a minimum
// version (X-Min-Version, read your writes) the reader waits, bounded, for the projection to reach
// it, and answers 503 past the bound. If-None-Match with the current version: 304.
import { ReaderServiceService } from "#proto/gen/reader/v1/reader.ts";
import { declareGetById } from "#shared/transport/by-id.ts";
import { TAG, USER_ADMIN, UserSchema } from "../user-api.ts";

export const getUser = declareGetById({
  method: ReaderServiceService.getUser,
  access: { roles: [USER_ADMIN], owner: true },
  description: "Read one user by id, from the cache or the read model.",
  noun: "user",
  path: "/api/v1/users/{id}",
  tag: TAG,
  item: { schema: UserSchema, name: "User" },
  reply: (response) => response.user,
});
