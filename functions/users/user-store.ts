// The writer's side of the user aggregate: how its row is loaded and saved, and what a taken email
// means; shared/write-side/aggregate-store.ts runs the command (lock, decide, row + outbox). Email uniqueness among live
// users is the partial unique index users_email_live_idx on lower(email): of two concurrent commands
// claiming one address, the second waits for the first to commit and then fails with a 409.
import { eq } from "drizzle-orm";
import { conflict } from "#shared/platform/errors.ts";
import type { WriterDeps, WriterTx } from "#shared/transport/tiers.ts";
import { runCommand } from "#shared/write-side/aggregate-store.ts";
import { users } from "#shared/write-side/db/schema.ts";
import { AGGREGATE, decide, eventData, type UserCommand, type UserState } from "./user.ts";

async function load(tx: WriterTx, id: string): Promise<UserState | undefined> {
  const [row] = await tx.select().from(users).where(eq(users.id, id)).for("update");
  if (!row) return undefined;
  const { deletedAt, ...rest } = row;
  return { ...rest, deleted: deletedAt !== null };
}

async function save(tx: WriterTx, { deleted, ...state }: UserState, existed: boolean): Promise<void> {
  const row = { ...state, deletedAt: deleted ? state.updatedAt : null };
  if (existed) await tx.update(users).set(row).where(eq(users.id, state.id));
  else await tx.insert(users).values(row);
}

function claimedEmail(command: UserCommand): string | undefined {
  switch (command.type) {
    case "CreateUser":
      return command.fields.email;
    case "UpdateUser":
      return command.patch.email;
    case "DeleteUser":
      return undefined;
  }
}

export function execute(deps: WriterDeps, id: string, command: UserCommand): Promise<UserState> {
  return runCommand(deps, id, {
    aggregateType: AGGREGATE,
    load,
    decide: (state) => decide(command, state),
    save,
    eventData,
    uniqueViolation: (constraint) => {
      if (!constraint.includes("email")) return undefined;
      const email = claimedEmail(command);
      return conflict(email === undefined ? "the email is taken" : `email ${email} is taken`, [
        { path: "email", message: "this email is taken by another user" },
      ]);
    },
  });
}
