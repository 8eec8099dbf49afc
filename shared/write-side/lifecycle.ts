// The lifecycle every aggregate here shares: created at version 1, each change one version more,
// a delete a last version that marks it deleted. An aggregate's `decide` names its commands and
// events and calls these for the state after each; the checks and messages are the same for all.
import { DomainError, notFound, preconditionFailed } from "../platform/errors.ts";

export interface Lifecycle {
  id: string;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  deleted: boolean;
}

/** The state of a new aggregate `noun` with `fields`; conflict when `existing` is there. */
export function created<F extends object>(
  noun: string,
  existing: Lifecycle | undefined,
  id: string,
  fields: F,
  now: Date,
): F & Lifecycle {
  if (existing) throw new DomainError("conflict", `a ${noun} with this id exists`);
  return { id, ...fields, version: 1, createdAt: now, updatedAt: now, deleted: false };
}

/** The live state `state`, checked against the version the caller expects (If-Match). */
function live<S extends Lifecycle>(noun: string, state: S | undefined, expectedVersion: number | undefined): S {
  if (!state || state.deleted) throw notFound(`no such ${noun}`);
  if (expectedVersion !== undefined && expectedVersion !== state.version) {
    throw preconditionFailed(`the ${noun} is at version ${state.version}, not ${expectedVersion}`);
  }
  return state;
}

/** The state after `patch`, one version on. */
export function changed<S extends Lifecycle>(
  noun: string,
  state: S | undefined,
  expectedVersion: number | undefined,
  patch: Partial<Omit<S, keyof Lifecycle>>,
  now: Date,
): S {
  const current = live(noun, state, expectedVersion);
  return { ...current, ...patch, version: current.version + 1, updatedAt: now };
}

/** The state after a delete: one version on, marked deleted. */
export function removed<S extends Lifecycle>(
  noun: string,
  state: S | undefined,
  expectedVersion: number | undefined,
  now: Date,
): S {
  const current = live(noun, state, expectedVersion);
  return { ...current, version: current.version + 1, updatedAt: now, deleted: true };
}
