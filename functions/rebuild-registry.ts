// What `npm run rebuild` can rebuild: each read model with the writer's table it is rebuilt from
// (PostgreSQL is the source of truth) and the event data a row's state stands for, which the
// projection turns into the document it would write (scripts/rebuild/).

import type { VersionedProjection } from "#shared/read-side/versioned-projection.ts";
import type { AggregateTable, RowState } from "#shared/write-side/aggregate-store.ts";
import { products, users } from "#shared/write-side/db/schema.ts";
import { eventData as productData } from "./products/product.ts";
import { productProjection } from "./products/product-read-model.ts";
import { productTagsProjection } from "./products/product-tags-read-model.ts";
import { eventData as userData } from "./users/user.ts";
import { userProjection } from "./users/user-read-model.ts";

export interface RebuildSource<T extends AggregateTable = AggregateTable> {
  /** The writer's table the read model is rebuilt from. */
  table: T;
  projection: VersionedProjection<unknown>;
  /** The event data that the row's state stands for: what the writer publishes for it. */
  data(state: RowState<T>): unknown;
}

const source = <T extends AggregateTable, D>(
  table: T,
  projection: VersionedProjection<D>,
  data: (state: RowState<T>) => D,
): RebuildSource => ({
  table,
  projection: projection as unknown as VersionedProjection<unknown>,
  data: data as unknown as RebuildSource["data"],
});

/** By read model name, as `npm run rebuild -- <read model>` takes it. */
export const rebuildSources: Record<string, RebuildSource> = {
  products: source(products, productProjection, productData),
  users: source(users, userProjection, userData),
  product_tag_members: source(products, productTagsProjection, productData),
};
