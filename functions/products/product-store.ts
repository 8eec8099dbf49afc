// The writer's side of the product aggregate: how its row is loaded and saved, and what a taken sku
// means; shared/write-side/aggregate-store.ts runs the command (lock, decide, row + outbox in one transaction).
import { eq } from "drizzle-orm";
import { conflict } from "#shared/platform/errors.ts";
import type { WriterDeps, WriterTx } from "#shared/transport/tiers.ts";
import { runCommand } from "#shared/write-side/aggregate-store.ts";
import { products } from "#shared/write-side/db/schema.ts";
import { AGGREGATE, decide, eventData, type ProductCommand, type ProductState } from "./product.ts";

async function load(tx: WriterTx, id: string): Promise<ProductState | undefined> {
  const [row] = await tx.select().from(products).where(eq(products.id, id)).for("update");
  if (!row) return undefined;
  const { deletedAt, ...rest } = row;
  return { ...rest, deleted: deletedAt !== null };
}

async function save(tx: WriterTx, { deleted, ...state }: ProductState, existed: boolean): Promise<void> {
  const row = { ...state, deletedAt: deleted ? state.updatedAt : null };
  if (existed) await tx.update(products).set(row).where(eq(products.id, state.id));
  else await tx.insert(products).values(row);
}

function claimedSku(command: ProductCommand): string | undefined {
  switch (command.type) {
    case "CreateProduct":
      return command.fields.sku;
    case "UpdateProduct":
      return command.patch.sku;
    case "DeleteProduct":
      return undefined;
  }
}

export function execute(deps: WriterDeps, id: string, command: ProductCommand): Promise<ProductState> {
  return runCommand(deps, id, {
    aggregateType: AGGREGATE,
    load,
    decide: (state) => decide(command, state),
    save,
    eventData,
    uniqueViolation: (constraint) => {
      if (!constraint.includes("sku")) return undefined;
      const sku = claimedSku(command);
      return conflict(sku === undefined ? "the sku is taken" : `sku ${sku} is taken`, [
        { path: "sku", message: "this sku is taken by another product" },
      ]);
    },
  });
}
