// The writer's side of the user aggregate: its table and what a taken email means;
// shared/write-side/aggregate-store.ts runs the command (lock, decide, row + outbox). Email
// uniqueness among live users is the partial unique index users_email_live_idx on lower(email): of
// two concurrent commands claiming one address, the second waits for the first to commit and then
// fails with a 409.
import { notFound } from "#shared/platform/errors.ts";
import { mayActOn } from "#shared/transport/caller.ts";
import { runCommand } from "#shared/write-side/aggregate-store.ts";
import { users } from "#shared/write-side/db/schema.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import { decide, eventData, type UserCommand, type UserState } from "./user.ts";
import { USER_ADMIN } from "./user-api.ts";
import { userEvents } from "./user-events.ts";

/** The email a command claims, if any. */
function claimedEmail(command: UserCommand): string | undefined {
  switch (command.type) {
    case "CreateUser":
      return command.fields.email;
    case "UpdateUser":
      return command.patch.email;
    case "DeleteUser":
      return undefined;
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * A caller without the user-admin role may change only their own user: another's is "no such user",
 * so that its existence does not leak. Checked on the locked row (its subject never changes).
 */
function ownedByCaller(command: UserCommand, state: UserState | undefined): void {
  if (command.type !== "CreateUser" && state && !mayActOn(state.subject, [USER_ADMIN])) throw notFound("no such user");
}

export function execute(deps: WriterDeps, id: string, command: UserCommand): Promise<UserState> {
  return runCommand(deps, id, {
    table: users,
    events: userEvents,
    decide: (state) => {
      ownedByCaller(command, state);
      return decide(command, state);
    },
    eventData,
    unique: [
      { field: "email", claimed: claimedEmail(command), message: "this email is taken by another user" },
      {
        field: "subject",
        claimed: command.type === "CreateUser" ? (command.subject ?? undefined) : undefined,
        message: "this subject has a user already",
      },
    ],
  });
}
