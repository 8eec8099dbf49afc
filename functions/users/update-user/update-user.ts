// UpdateUser: PATCH /api/v1/users/{id} (partial: email and/or name; optional If-Match)
// -> 200 {id, version}; 409 (on `email`) if the new email is taken by another live user.
import { Hono } from "hono";
import * as v from "valibot";
import { type UpdateUserRequest, type UpdateUserResponse, WriterServiceService } from "#proto/gen/writer/v1/writer.ts";
import { defineFunction } from "#shared/transport/function.ts";
import { etag, idParam, versionHeader } from "#shared/transport/http.ts";
import { readJson } from "#shared/transport/problem.ts";
import { fieldsOnly, parseInput } from "#shared/transport/validation.ts";
import { fields, Id, TAG, type UserFields, UserVersion, Version } from "../user.ts";
import { execute } from "../user-store.ts";

/** The HTTP body: any subset of the fields, at least one, nothing else. */
export const UpdateUserBody = v.pipe(
  fieldsOnly({
    email: v.optional(fields.email),
    name: v.optional(fields.name),
  }),
  v.check((patch) => Object.values(patch).some((value) => value !== undefined), "give at least one field to change"),
);

export const UpdateUserRequestSchema = v.object({
  id: Id,
  expectedVersion: v.optional(Version),
  email: v.optional(fields.email),
  name: v.optional(fields.name),
}) satisfies v.GenericSchema<unknown, UpdateUserRequest>;

export const updateUser = defineFunction({
  name: "UpdateUser",
  tier: "writer",
  description: "Change the email and/or name of a user; with If-Match, only if it is still at that version.",
  method: WriterServiceService.updateUser,
  request: UpdateUserRequestSchema,
  handler:
    (deps) =>
    async ({ id, expectedVersion, email, name }): Promise<UpdateUserResponse> => {
      const patch: Partial<UserFields> = {};
      if (email !== undefined) patch.email = email;
      if (name !== undefined) patch.name = name;
      const state = await execute(deps, id, { type: "UpdateUser", patch, expectedVersion, now: deps.clock() });
      return { id: state.id, version: state.version };
    },
  http: (call) =>
    new Hono().patch("/api/v1/users/:id", async (c) => {
      const id = idParam(c);
      const expectedVersion = versionHeader(c, "If-Match");
      const patch = parseInput(UpdateUserBody, await readJson(c));
      const updated = await call({ id, expectedVersion, ...patch }, c);
      c.header("ETag", etag(updated.version));
      return c.json(updated, 200);
    }),
  operations: [
    {
      method: "patch",
      path: "/api/v1/users/{id}",
      tag: TAG,
      summary: "Change the email and/or name of a user",
      pathParams: { id: { schema: Id, description: "The user's id" } },
      headers: ["If-Match"],
      body: { schema: UpdateUserBody, example: { name: "Ada King" } },
      responses: { 200: { description: "Changed: its id and new version", schema: UserVersion, headers: ["ETag"] } },
      problems: {
        404: "no such user (or it is deleted)",
        409: "the new email is taken by another live user",
        412: "If-Match names another version",
      },
    },
  ],
});
