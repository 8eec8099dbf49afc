// UpdateUser: PATCH /api/v1/users/{id} (partial: email and/or name; optional If-Match)
// -> 200 {id, version}; 409 (on `email`) if the new email is taken by another live user.
import * as v from "valibot";
import { type UpdateUserRequest, WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { Id, Version } from "#shared/transport/fields.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { fieldsOnly } from "#shared/transport/validation.ts";
import { TAG, USER_ADMIN, UserVersion } from "../user-api.ts";
import { fields } from "../user-fields.ts";

const patchFields = v.partial(v.object(fields)).entries;

/** The HTTP body: any subset of the fields, at least one, nothing else. */
export const UpdateUserBody = v.pipe(fieldsOnly(patchFields), v.minEntries(1, "give at least one field to change"));

export const UpdateUserRequestSchema = v.object({
  id: Id,
  expectedVersion: v.optional(Version),
  ...patchFields,
}) satisfies v.GenericSchema<unknown, UpdateUserRequest>;

export const updateUser = declareFunction({
  method: WriterServiceService.updateUser,
  access: { roles: [USER_ADMIN], owner: true },
  description: "Change the email and/or name of a user; with If-Match, only if it is still at that version.",
  request: UpdateUserRequestSchema,
  route: {
    method: "patch",
    path: "/api/v1/users/{id}",
    tag: TAG,
    summary: "Change the email and/or name of a user",
    pathParams: { id: { schema: Id, description: "The user's id" } },
    headers: ["If-Match"],
    body: { schema: UpdateUserBody, example: { name: "Ada King" } },
    toRequest: ({ params, headers, body }) => ({ id: params.id, expectedVersion: headers["If-Match"], ...body }),
    responses: { 200: { description: "Changed: its id and new version", schema: UserVersion, headers: ["ETag"] } },
    problems: {
      404: "no such user (or it is deleted)",
      409: "the new email is taken by another live user",
      412: "If-Match names another version",
    },
  },
});
