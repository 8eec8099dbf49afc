// The writer's side of the product aggregate: its table and what a taken sku means;
// shared/write-side/aggregate-store.ts runs the command (lock, decide, row + outbox in one transaction).
import { runCommand } from "#shared/write-side/aggregate-store.ts";
import { products } from "#shared/write-side/db/schema.ts";
import type { WriterDeps } from "#shared/write-side/writer-deps.ts";
import { decide, eventData, type ProductCommand, type ProductState } from "./product.ts";
import { productEvents } from "./product-events.ts";

/** The sku a command claims, if any (products_sku_live_idx holds one live product per sku). */
function claimedSku(command: ProductCommand): string | undefined {
  switch (command.type) {
    case "CreateProduct":
      return command.fields.sku;
    case "UpdateProduct":
      return command.patch.sku;
    case "DeleteProduct":
      return undefined;
    default: {
      const unknown: never = command;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

export function execute(deps: WriterDeps, id: string, command: ProductCommand): Promise<ProductState> {
  return runCommand(deps, id, {
    table: products,
    events: productEvents,
    decide: (state) => decide(command, state),
    eventData,
    unique: [{ field: "sku", claimed: claimedSku(command), message: "this sku is taken by another product" }],
  });
}
