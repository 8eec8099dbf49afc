// CreateUser on the writer: whose user it is, a new UUIDv7, then the command in one transaction
// (user-store.ts).
import { DomainError } from "#shared/platform/errors.ts";
import { callContext, holdsRole } from "#shared/transport/caller.ts";
import { implement } from "#shared/transport/function.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import { USER_ADMIN } from "../user-api.ts";
import { execute } from "../user-store.ts";
import { createUser } from "./create-user.ts";

/**
 * Whose user it will be: a user-admin names any subject, or none; anyone else creates their own
 * (naming another's is a 403).
 */
function subjectOf(given: string | undefined): string | null {
  if (holdsRole([USER_ADMIN])) return given ?? null;
  const { actor } = callContext();
  if (!actor || (given !== undefined && given !== actor.subject)) {
    throw new DomainError("forbidden", `only a ${USER_ADMIN} may create a user for another subject`);
  }
  return actor.subject;
}

export const createUserHandler = implement(createUser, async ({ subject, ...fields }, deps: WriterDeps) => {
  const id = deps.newId();
  const command = { type: "CreateUser", id, fields, subject: subjectOf(subject), now: deps.clock() } as const;
  const state = await execute(deps, id, command);
  return { id: state.id, version: state.version };
});
