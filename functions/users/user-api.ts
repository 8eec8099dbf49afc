// The user as the API shows it: the shapes of what its routes answer, and its group in the OpenAPI
// document.
import * as v from "valibot";
import type { User } from "#proto/gen/reader/v1/reader.ts";
import { Id, Timestamp, Version, versionOf } from "#shared/transport/fields.ts";

/**
 * The role that may list, read, change and delete any user and create users for others; without
 * it, a caller may create, read and change only their own user (the one whose subject is theirs).
 */
export const USER_ADMIN = "user-admin";

/** The users' group in the API document. */
export const TAG = {
  name: "users",
  description: "Users (email unique among live users): create, change, delete, read one, list.",
};

/** A user as the API answers it (GET one, and each item of a list). */
export const UserSchema = v.strictObject({
  id: v.pipe(Id, v.description("UUIDv7, made by the writer")),
  email: v.pipe(v.string(), v.description("as given, trimmed")),
  name: v.string(),
  subject: v.optional(v.pipe(v.string(), v.description("the token subject it belongs to; absent: nobody's"))),
  version: v.pipe(Version, v.description("1 when created, one more with each change; also the ETag")),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}) satisfies v.GenericSchema<unknown, User>;

/** What a command answers: the user's id and its version after the change. */
export const UserVersion = versionOf();
