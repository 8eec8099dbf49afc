// CreateUser: POST /api/v1/users -> 201 {id, version} with Location and ETag; 409 (on `email`) if a
// live user has this email, compared case-insensitively.
import * as v from "valibot";
import { type CreateUserRequest, WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { declareFunction } from "#shared/transport/function.ts";
import { fieldsOnly } from "#shared/transport/validation.ts";
import { TAG, UserVersion } from "../user-api.ts";
import { fields } from "../user-fields.ts";

/** The gRPC request, validated again by the writer. */
export const CreateUserRequestSchema = v.object(fields) satisfies v.GenericSchema<unknown, CreateUserRequest>;

/** The HTTP body: the same fields; unknown ones are refused, each by name. */
export const CreateUserBody = fieldsOnly(fields);

export const createUser = declareFunction({
  method: WriterServiceService.createUser,
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
    problems: { 409: "the email is taken by a live user (case-insensitively)" },
  },
});
