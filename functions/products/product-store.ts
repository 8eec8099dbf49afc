// The writer's side of the product aggregate: load a row under a lock, then persist what `decide`
// returned together with its outbox event, in the caller's transaction.
import { eq } from "drizzle-orm";
import { pgError, UNIQUE_VIOLATION } from "../../shared/db/errors.ts";
import { products } from "../../shared/db/schema.ts";
import { conflict } from "../../shared/errors.ts";
import { appendEvent } from "../../shared/outbox.ts";
import type { WriterDeps, WriterTx } from "../../shared/tiers.ts";
import { AGGREGATE, decide, eventData, type ProductCommand, type ProductState } from "./product.ts";

async function load(tx: WriterTx, id: string): Promise<ProductState | undefined> {
  const [row] = await tx.select().from(products).where(eq(products.id, id)).for("update");
  if (!row) return undefined;
  const { deletedAt, ...rest } = row;
  return { ...rest, deleted: deletedAt !== null };
}

/** The sku uniqueness violation, however drizzle wraps the driver's error. */
function isSkuTaken(error: unknown): boolean {
  const pg = pgError(error);
  return pg?.code === UNIQUE_VIOLATION && String(pg.constraint_name).includes("sku");
}

/**
 * Runs one product command in one transaction: lock the row, decide, write the row and the event.
 * Either both commit or neither does.
 */
export async function execute(deps: WriterDeps, id: string, command: ProductCommand): Promise<ProductState> {
  try {
    return await deps.db.transaction(async (tx) => {
      const event = decide(command, await load(tx, id));
      const { deleted, ...state } = event.state;
      const row = { ...state, deletedAt: deleted ? state.updatedAt : null };
      if (event.type === "ProductCreated") await tx.insert(products).values(row);
      else await tx.update(products).set(row).where(eq(products.id, id));
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
    if (isSkuTaken(error)) {
      const sku =
        command.type === "DeleteProduct" ? undefined : "fields" in command ? command.fields.sku : command.patch.sku;
      throw conflict(sku === undefined ? "the sku is taken" : `sku ${sku} is taken`, [
        { path: "sku", message: "this sku is taken by another product" },
      ]);
    }
    throw error;
  }
}
