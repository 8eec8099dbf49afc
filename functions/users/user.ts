// The user aggregate: its field rules, its events, and the pure decision of each command (emmett's
// decide/evolve): given the current state and a command, which event happens, or which domain
// error. No I/O here. Email uniqueness is not decided here: it needs every other user, so the
// writer's partial unique index on lower(email) among live users enforces it (user-store.ts).
import * as v from "valibot";
import type { User } from "#proto/gen/reader/v1/reader.ts";
import { DomainError } from "#shared/platform/errors.ts";
import { storableText } from "#shared/transport/validation.ts";
import { changed, created, type Lifecycle, removed } from "#shared/write-side/lifecycle.ts";

export const AGGREGATE = "user";

/** The longest address SMTP can carry (RFC 5321 path limit less the angle brackets). */
export const EMAIL_MAX = 254;

export const fields = {
  email: v.pipe(
    v.string(),
    v.trim(),
    v.maxLength(EMAIL_MAX, `email is at most ${EMAIL_MAX} characters`),
    v.email("email must be an address such as ada@example.com"),
  ),
  name: v.pipe(
    v.string(),
    v.trim(),
    v.minLength(1, "name must not be empty"),
    v.maxLength(200, "name is at most 200 characters"),
    storableText("name"),
  ),
};

export const Id = v.pipe(v.string(), v.uuid("must be a UUID"));
export const Version = v.pipe(v.number(), v.integer(), v.minValue(1, "versions start at 1"));

/** The users' group in the API document. */
export const TAG = {
  name: "users",
  description: "Users (email unique among live users): create, change, delete, read one, list.",
};

const Timestamp = v.pipe(v.string(), v.isoTimestamp());

/** A user as the API answers it (GET one, and each item of a list). */
export const UserSchema = v.strictObject({
  id: v.pipe(Id, v.description("UUIDv7, made by the writer")),
  email: v.pipe(v.string(), v.description("as given, trimmed")),
  name: v.string(),
  version: v.pipe(Version, v.description("1 when created, one more with each change; also the ETag")),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}) satisfies v.GenericSchema<unknown, User>;

/** What a command answers: the user's id and its version after the change. */
export const UserVersion = v.strictObject({ id: Id, version: Version });

export interface UserFields {
  email: string;
  name: string;
}

export interface UserState extends UserFields, Lifecycle {}

export type UserCommand =
  | { type: "CreateUser"; id: string; fields: UserFields; now: Date }
  | { type: "UpdateUser"; patch: Partial<UserFields>; expectedVersion?: number; now: Date }
  | { type: "DeleteUser"; expectedVersion?: number; now: Date };

export type UserEventType = "UserCreated" | "UserUpdated" | "UserDeleted";

export interface UserEvent {
  type: UserEventType;
  /** The state after the event: what the envelope's `data` carries. */
  state: UserState;
}

export function decide(command: UserCommand, state: UserState | undefined): UserEvent {
  switch (command.type) {
    case "CreateUser":
      return { type: "UserCreated", state: created("user", state, command.id, command.fields, command.now) };
    case "UpdateUser":
      return {
        type: "UserUpdated",
        state: changed("user", state, command.expectedVersion, command.patch, command.now),
      };
    case "DeleteUser":
      return { type: "UserDeleted", state: removed("user", state, command.expectedVersion, command.now) };
    default: {
      const unknown: never = command;
      throw new DomainError("invalid_input", `unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** The event's `data`: the full state after the change, timestamps as RFC 3339 strings. */
export function eventData(state: UserState): Record<string, unknown> {
  return {
    id: state.id,
    email: state.email,
    name: state.name,
    version: state.version,
    createdAt: state.createdAt.toISOString(),
    updatedAt: state.updatedAt.toISOString(),
    deleted: state.deleted,
  };
}
