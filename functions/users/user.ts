// The user aggregate: the pure decision of each command (emmett's decide): given the current state
// and a command, which event happens, or which domain error. No I/O here. Email uniqueness is not
// decided here: it needs every other user, so the writer's partial unique index on lower(email)
// among live users enforces it (user-store.ts).

import { DomainError } from "#shared/platform/errors.ts";
import type { EventTypeOf } from "#shared/platform/events.ts";
import { changed, created, type Lifecycle, removed } from "#shared/write-side/lifecycle.ts";
import type { UserData, userEvents } from "./user-events.ts";

export interface UserFields {
  email: string;
  name: string;
}

export interface UserState extends UserFields, Lifecycle {
  /** The token subject the user belongs to (set at creation, never changed); null: nobody's. */
  subject: string | null;
}

export type UserCommand =
  | { type: "CreateUser"; id: string; fields: UserFields; subject: string | null; now: Date }
  | { type: "UpdateUser"; patch: Partial<UserFields>; expectedVersion?: number; now: Date }
  | { type: "DeleteUser"; expectedVersion?: number; now: Date };

export interface UserEvent {
  type: EventTypeOf<typeof userEvents>;
  /** The state after the event: what the envelope's `data` carries. */
  state: UserState;
}

export function decide(command: UserCommand, state: UserState | undefined): UserEvent {
  switch (command.type) {
    case "CreateUser":
      return {
        type: "UserCreated",
        state: created("user", state, command.id, { ...command.fields, subject: command.subject }, command.now),
      };
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
export function eventData(state: UserState): UserData {
  // A deletion carries no personal data (user-events.ts).
  if (state.deleted) {
    return { id: state.id, version: state.version, updatedAt: state.updatedAt.toISOString(), deleted: true };
  }
  return {
    id: state.id,
    email: state.email,
    name: state.name,
    subject: state.subject,
    version: state.version,
    createdAt: state.createdAt.toISOString(),
    updatedAt: state.updatedAt.toISOString(),
    deleted: false,
  };
}
