// CreateUser: POST /api/v1/users -> 201 {id, version} with Location and ETag; 409 (on `email`) if a
// live user has this email, compared case-insensitively, or (on `subject`) if the subject has one.
// The user belongs to the caller's subject, or to the one a user-admin names.
import * as v from "valibot";
import { type CreateUserRequest, WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { fieldsOnly } from "#shared/transport/validation.ts";
import { TAG, USER_ADMIN, UserVersion } from "../user-api.ts";
import { fields, Subject } from "../user-fields.ts";

const creation = {
  ...fields,
  subject: v.optional(
    v.pipe(
      Subject,
      v.description("whose user it is (a token's sub); default the caller's own; only a user-admin may name another"),
    ),
  ),
};

/** The gRPC request, validated again by the writer. */
export const CreateUserRequestSchema = v.object(creation) satisfies v.GenericSchema<unknown, CreateUserRequest>;

/** The HTTP body: the same fields; unknown ones are refused, each by name. */
export const CreateUserBody = fieldsOnly(creation);

export const createUser = declareFunction({
  method: WriterServiceService.createUser,
  access: { roles: [USER_ADMIN], owner: true },
  description: "Create a user; its email must not be taken by a live user (case-insensitively).",
  request: CreateUserRequestSchema,
  route: {
    method: "post",
    path: "/api/v1/users",
    tag: TAG,
    summary: "Create a user",
    body: { schema: CreateUserBody, example: { email: "ada@example.com", name: "Ada Lovelace" } },
    toRequest: ({ body }) => body,
    responses: {
      201: {
        description: "Created: its id and version 1",
        schema: UserVersion,
        name: "UserVersion",
        headers: ["Location", "ETag"],
      },
    },
    problems: {
      403: "the subject is another caller's, and the caller is not a user-admin",
      409: "the email is taken by a live user (case-insensitively), or the subject has a live user",
    },
  },
});
