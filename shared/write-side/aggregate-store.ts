// Running one command on the writer, for every aggregate: in one transaction, lock the aggregate's
// row, decide (pure), write the row and append the resulting event to the outbox. Either both
// commit or neither does. A unique violation becomes the domain error the aggregate says it means.

import type { DomainError } from "../platform/errors.ts";
import type { WriterDeps, WriterTx } from "../transport/tiers.ts";
import { pgError, UNIQUE_VIOLATION } from "./db/errors.ts";
import { appendEvent } from "./outbox.ts";

export interface StoredState {
  id: string;
  version: number;
  updatedAt: Date;
  deleted: boolean;
}

export interface Decision<S extends StoredState> {
  /** The event type, e.g. ProductUpdated. */
  type: string;
  /** The state after it. */
  state: S;
}

export interface CommandSpec<S extends StoredState> {
  aggregateType: string;
  /** Reads the row under a lock (select ... for update), or undefined. */
  load(tx: WriterTx, id: string): Promise<S | undefined>;
  decide(state: S | undefined): Decision<S>;
  /** Writes the new state: an insert when there was no row, else an update. */
  save(tx: WriterTx, state: S, existed: boolean): Promise<void>;
  /** The event's `data`: the full state after the change. */
  eventData(state: S): Record<string, unknown>;
  /** The domain error a unique violation on `constraint` means, if any. */
  uniqueViolation?(constraint: string): DomainError | undefined;
}

export async function runCommand<S extends StoredState>(
  deps: WriterDeps,
  id: string,
  spec: CommandSpec<S>,
): Promise<S> {
  try {
    return await deps.db.transaction(async (tx) => {
      const current = await spec.load(tx, id);
      const decision = spec.decide(current);
      await spec.save(tx, decision.state, current !== undefined);
      await appendEvent(tx, {
        aggregateType: spec.aggregateType,
        aggregateId: id,
        type: decision.type,
        version: decision.state.version,
        occurredAt: decision.state.updatedAt,
        data: spec.eventData(decision.state),
      });
      return decision.state;
    });
  } catch (error) {
    const pg = pgError(error);
    const mapped = pg?.code === UNIQUE_VIOLATION ? spec.uniqueViolation?.(String(pg.constraint_name)) : undefined;
    throw mapped ?? error;
  }
}
