// DeleteUser on the writer: the command runs in one transaction; the answer is the deletion's version.
import { implement } from "#shared/transport/function.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import { execute } from "../user-store.ts";
import { deleteUser } from "./delete-user.ts";

export const deleteUserHandler = implement(deleteUser, async ({ id, expectedVersion }, deps: WriterDeps) => {
  const state = await execute(deps, id, { type: "DeleteUser", expectedVersion, now: deps.clock() });
  return { id: state.id, version: state.version };
});
