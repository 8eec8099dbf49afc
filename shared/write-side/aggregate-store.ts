// Running one command on the writer, for every state-stored aggregate: in one transaction, load the
// aggregate's row under a lock, decide (pure), insert or update the row and append the resulting
// event to the outbox. Either both commit or neither does. A unique violation becomes the domain
// error the aggregate says it means.
import { eq } from "drizzle-orm";
import { conflict, type DomainError } from "../platform/errors.ts";
import type { AggregateEvents, EventData } from "../platform/events.ts";
import { callContext } from "../transport/caller.ts";
import { pgError, UNIQUE_VIOLATION } from "./db/errors.ts";
import type { products, users } from "./db/schema.ts";
import type { Lifecycle } from "./lifecycle.ts";
import { appendEvent } from "./outbox.ts";
import type { WriterDeps, WriterTx } from "./writer-deps.ts";

/** The tables of state-stored aggregates: an id, the aggregate's columns, a version and deleted_at. */
export type AggregateTable = typeof products | typeof users;

/** An aggregate's state as its row holds it, with `deleted` for deleted_at. */
export type RowState<T extends AggregateTable> = Omit<T["$inferSelect"], "deletedAt"> & Lifecycle;

export interface Decision<T extends string, S> {
  /** The event type, e.g. ProductUpdated. */
  type: T;
  /** The state after it. */
  state: S;
}

/** A field a live aggregate must hold alone (a partial unique index), and the 409 a clash means. */
export interface UniqueField {
  /** The index name contains it between underscores, e.g. sku for products_sku_live_idx. */
  field: string;
  /** The value the command claims, if it claims one. */
  claimed: string | undefined;
  /** e.g. "this sku is taken by another product" */
  message: string;
}

export interface CommandSpec<T extends AggregateTable, E extends string, D> {
  table: T;
  events: AggregateEvents<E, D>;
  decide(state: RowState<T> | undefined): Decision<E, RowState<T>>;
  /** The event's `data`: the full state after the change, as the events declare it. */
  eventData(state: RowState<T>): D & EventData;
  unique?: readonly UniqueField[];
}

async function load<T extends AggregateTable>(tx: WriterTx, table: T, id: string): Promise<RowState<T> | undefined> {
  // drizzle's builders cannot follow a union of tables; each member has these columns.
  const t = table as typeof products;
  const [row] = await tx.select().from(t).where(eq(t.id, id)).for("update");
  if (!row) return undefined;
  const { deletedAt, ...rest } = row;
  return { ...rest, deleted: deletedAt !== null } as unknown as RowState<T>;
}

async function save<T extends AggregateTable>(tx: WriterTx, table: T, state: RowState<T>, existed: boolean) {
  const t = table as typeof products;
  const { deleted, ...columns } = state;
  const row = { ...columns, deletedAt: deleted ? state.updatedAt : null } as unknown as typeof products.$inferInsert;
  if (existed) await tx.update(t).set(row).where(eq(t.id, state.id));
  else await tx.insert(t).values(row);
}

/** Who caused the event and the request it came from (the call's context, caller.ts). */
function eventMetadata(): Record<string, string> {
  const { actor, correlationId } = callContext();
  return {
    ...(actor ? { actor: actor.subject } : {}),
    ...(correlationId ? { correlationId } : {}),
  };
}

function uniqueViolation(fields: readonly UniqueField[] | undefined, constraint: string): DomainError | undefined {
  const unique = fields?.find((field) => constraint.includes(`_${field.field}_`));
  if (!unique) return undefined;
  const detail =
    unique.claimed === undefined ? `the ${unique.field} is taken` : `${unique.field} ${unique.claimed} is taken`;
  return conflict(detail, [{ path: unique.field, message: unique.message }]);
}

export async function runCommand<T extends AggregateTable, E extends string, D>(
  deps: WriterDeps,
  id: string,
  spec: CommandSpec<T, E, D>,
): Promise<RowState<T>> {
  try {
    return await deps.db.transaction(async (tx) => {
      const current = await load(tx, spec.table, id);
      const decision = spec.decide(current);
      await save(tx, spec.table, decision.state, current !== undefined);
      await appendEvent(tx, {
        aggregateType: spec.events.aggregateType,
        aggregateId: id,
        type: decision.type,
        schemaVersion: spec.events.types[decision.type].version,
        version: decision.state.version,
        occurredAt: decision.state.updatedAt,
        data: spec.eventData(decision.state),
        metadata: eventMetadata(),
      });
      return decision.state;
    });
  } catch (error) {
    const pg = pgError(error);
    const mapped = pg?.code === UNIQUE_VIOLATION ? uniqueViolation(spec.unique, String(pg.constraint_name)) : undefined;
    throw mapped ?? error;
  }
}
