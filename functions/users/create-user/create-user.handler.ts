// CreateUser on the writer: a new UUIDv7, then the command in one transaction (user-store.ts).
import { implement } from "#shared/transport/function.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import { execute } from "../user-store.ts";
import { createUser } from "./create-user.ts";

export const createUserHandler = implement(createUser, async (request, deps: WriterDeps) => {
  const id = deps.newId();
  const state = await execute(deps, id, { type: "CreateUser", id, fields: request, now: deps.clock() });
  return { id: state.id, version: state.version };
});
