// Who is calling, and who may. A declaration says who may call its function (`Access`); the
// gateway verifies the caller's token, enforces the roles, and passes the caller on to the tier as
// gRPC metadata, with the request's correlation id. The tier reads them back (only from a call that
// carries the gateway's internal credential) and runs the handler in that caller's context, where
// an owner check (`mayActOn`) and the outbox's event metadata find it.
import { AsyncLocalStorage } from "node:async_hooks";
import type * as grpc from "@grpc/grpc-js";

/**
 * Who may call a function: anyone ("public"), or callers holding one of `roles`. With `owner`, any
 * authenticated caller passes the gateway and the handler limits a caller without the roles to
 * their own records (`mayActOn`).
 */
export type Access = "public" | { roles: readonly string[]; owner?: true };

export interface Actor {
  /** The token's `sub`, or for local tools `local:<name>`. */
  subject: string;
  roles: readonly string[];
}

export interface CallContext {
  actor: Actor | undefined;
  correlationId: string | undefined;
}

const ACTOR_SUBJECT = "x-actor-subject";
const ACTOR_ROLES = "x-actor-roles";
const CORRELATION_ID = "x-correlation-id";

/** Adds the caller and correlation id to a call's metadata. */
export function setCallContext(metadata: grpc.Metadata, context: CallContext): grpc.Metadata {
  if (context.actor) {
    metadata.set(ACTOR_SUBJECT, context.actor.subject);
    metadata.set(ACTOR_ROLES, context.actor.roles.join(","));
  }
  if (context.correlationId) metadata.set(CORRELATION_ID, context.correlationId);
  return metadata;
}

/** The caller and correlation id a call's metadata carries (trusted only from a credentialled call). */
export function callContextOf(metadata: grpc.Metadata): CallContext {
  const [subject] = metadata.get(ACTOR_SUBJECT);
  const [roles] = metadata.get(ACTOR_ROLES);
  const [correlationId] = metadata.get(CORRELATION_ID);
  return {
    actor:
      typeof subject === "string" && subject !== ""
        ? { subject, roles: typeof roles === "string" && roles !== "" ? roles.split(",") : [] }
        : undefined,
    correlationId: typeof correlationId === "string" && correlationId !== "" ? correlationId : undefined,
  };
}

const current = new AsyncLocalStorage<CallContext>();
const NOBODY: CallContext = { actor: undefined, correlationId: undefined };

/** Runs `work` as `context`'s caller. */
export const runAs = <T>(context: CallContext, work: () => T): T => current.run(context, work);

/** The caller of the call being handled (nobody outside one). */
export const callContext = (): CallContext => current.getStore() ?? NOBODY;

/** Whether the caller may act on a record owned by `owner`: one of `roles`, or it is theirs. */
export function mayActOn(owner: string | null | undefined, roles: readonly string[]): boolean {
  const { actor } = callContext();
  if (!actor) return false;
  return actor.roles.some((role) => roles.includes(role)) || (owner != null && owner === actor.subject);
}

/** Whether the caller holds one of `roles`. */
export const holdsRole = (roles: readonly string[]): boolean =>
  callContext().actor?.roles.some((role) => roles.includes(role)) ?? false;
