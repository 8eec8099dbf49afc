// The product aggregate: the pure decision of each command (emmett's decide): given the current
// state and a command, which event happens, or which domain error. No I/O here; product-store.ts
// loads the state and persists what `decide` returns.

import { DomainError } from "#shared/platform/errors.ts";
import type { EventTypeOf } from "#shared/platform/events.ts";
import { changed, created, type Lifecycle, removed } from "#shared/write-side/lifecycle.ts";
import type { ProductData, productEvents } from "./product-events.ts";

export interface ProductFields {
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  stock: number;
  tags: string[];
}

export interface ProductState extends ProductFields, Lifecycle {}

export type ProductCommand =
  | { type: "CreateProduct"; id: string; fields: ProductFields; now: Date }
  | { type: "UpdateProduct"; patch: Partial<ProductFields>; expectedVersion?: number; now: Date }
  | { type: "DeleteProduct"; expectedVersion?: number; now: Date };

export interface ProductEvent {
  type: EventTypeOf<typeof productEvents>;
  /** The state after the event: what the envelope's `data` carries. */
  state: ProductState;
}

export function decide(command: ProductCommand, state: ProductState | undefined): ProductEvent {
  switch (command.type) {
    case "CreateProduct":
      return { type: "ProductCreated", state: created("product", state, command.id, command.fields, command.now) };
    case "UpdateProduct":
      return {
        type: "ProductUpdated",
        state: changed("product", state, command.expectedVersion, command.patch, command.now),
      };
    case "DeleteProduct":
      return { type: "ProductDeleted", state: removed("product", state, command.expectedVersion, command.now) };
    default: {
      const unknown: never = command;
      throw new DomainError("invalid_input", `unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** The event's `data`: the full state after the change, timestamps as RFC 3339 strings. */
export function eventData(state: ProductState): ProductData {
  return {
    id: state.id,
    sku: state.sku,
    name: state.name,
    description: state.description,
    price: { amountMinor: state.priceCents, currency: state.currency },
    stock: state.stock,
    tags: state.tags,
    version: state.version,
    createdAt: state.createdAt.toISOString(),
    updatedAt: state.updatedAt.toISOString(),
    deleted: state.deleted,
  };
}
