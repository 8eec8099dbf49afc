// The writer's side of the user aggregate: load a row under a lock, then persist what `decide`
// returned together with its outbox event, in the caller's transaction. Email uniqueness among live
// users is the partial unique index users_email_live_idx on lower(email): of two concurrent commands
// claiming one address, the second waits for the first to commit and then fails with a 409.
import { eq } from "drizzle-orm";
import { pgError, UNIQUE_VIOLATION } from "../../shared/db/errors.ts";
import { users } from "../../shared/db/schema.ts";
import { conflict } from "../../shared/errors.ts";
import { appendEvent } from "../../shared/outbox.ts";
import type { WriterDeps, WriterTx } from "../../shared/tiers.ts";
import { AGGREGATE, decide, eventData, type UserCommand, type UserState } from "./user.ts";

async function load(tx: WriterTx, id: string): Promise<UserState | undefined> {
  const [row] = await tx.select().from(users).where(eq(users.id, id)).for("update");
  if (!row) return undefined;
  const { deletedAt, ...rest } = row;
  return { ...rest, deleted: deletedAt !== null };
}

/** The email uniqueness violation, however drizzle wraps the driver's error. */
function isEmailTaken(error: unknown): boolean {
  const pg = pgError(error);
  return pg?.code === UNIQUE_VIOLATION && String(pg.constraint_name).includes("email");
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

/**
 * Runs one user command in one transaction: lock the row, decide, write the row and the event.
 * Either both commit or neither does.
 */
export async function execute(deps: WriterDeps, id: string, command: UserCommand): Promise<UserState> {
  try {
    return await deps.db.transaction(async (tx) => {
      const event = decide(command, await load(tx, id));
      const { deleted, ...state } = event.state;
      const row = { ...state, deletedAt: deleted ? state.updatedAt : null };
      if (event.type === "UserCreated") await tx.insert(users).values(row);
      else await tx.update(users).set(row).where(eq(users.id, id));
      await appendEvent(tx, {
        aggregateType: AGGREGATE,
        aggregateId: id,
        type: event.type,
        version: event.state.version,
        occurredAt: event.state.updatedAt,
        data: eventData(event.state),
      });
      return event.state;
    });
  } catch (error) {
    if (isEmailTaken(error)) {
      const email = claimedEmail(command);
      throw conflict(email === undefined ? "the email is taken" : `email ${email} is taken`, [
        { path: "email", message: "this email is taken by another user" },
      ]);
    }
    throw error;
  }
}
