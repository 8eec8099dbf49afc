// UpdateUser on the writer: the fields given become the patch; the command runs in one transaction.
import { implement } from "#shared/transport/function.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import type { UserFields } from "../user.ts";
import { execute } from "../user-store.ts";
import { updateUser } from "./update-user.ts";

export const updateUserHandler = implement(
  updateUser,
  async ({ id, expectedVersion, email, name }, deps: WriterDeps) => {
    const patch: Partial<UserFields> = {};
    if (email !== undefined) patch.email = email;
    if (name !== undefined) patch.name = name;
    const state = await execute(deps, id, { type: "UpdateUser", patch, expectedVersion, now: deps.clock() });
    return { id: state.id, version: state.version };
  },
);
