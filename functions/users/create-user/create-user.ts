// CreateUser: POST /api/v1/users -> 201 {id, version} with Location and ETag; 409 (on `email`) if a
// live user has this email, compared case-insensitively.
import { Hono } from "hono";
import * as v from "valibot";
import { type CreateUserRequest, type CreateUserResponse, WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { defineFunction } from "#shared/transport/function.ts";
import { etag } from "#shared/transport/http.ts";
import { readJson } from "#shared/transport/problem.ts";
import { fieldsOnly, parseInput } from "#shared/transport/validation.ts";
import { fields, TAG, UserVersion } from "../user.ts";
import { execute } from "../user-store.ts";

/** The HTTP body: unknown fields are refused, each by name. */
export const CreateUserBody = fieldsOnly({
  email: fields.email,
  name: fields.name,
});

/** The gRPC request, validated again by the writer. */
export const CreateUserRequestSchema = v.object({
  email: fields.email,
  name: fields.name,
}) satisfies v.GenericSchema<unknown, CreateUserRequest>;

export const createUser = defineFunction({
  name: "CreateUser",
  tier: "writer",
  description: "Create a user; its email must not be taken by a live user (case-insensitively).",
  method: WriterServiceService.createUser,
  request: CreateUserRequestSchema,
  handler:
    (deps) =>
    async (request): Promise<CreateUserResponse> => {
      const id = deps.newId();
      const state = await execute(deps, id, { type: "CreateUser", id, fields: request, now: deps.clock() });
      return { id: state.id, version: state.version };
    },
  http: (call) =>
    new Hono().post("/api/v1/users", async (c) => {
      const body = parseInput(CreateUserBody, await readJson(c));
      const created = await call(body, c);
      c.header("Location", `/api/v1/users/${created.id}`);
      c.header("ETag", etag(created.version));
      return c.json(created, 201);
    }),
  operations: [
    {
      method: "post",
      path: "/api/v1/users",
      tag: TAG,
      summary: "Create a user",
      body: { schema: CreateUserBody, example: { email: "ada@example.com", name: "Ada Lovelace" } },
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
  ],
});
