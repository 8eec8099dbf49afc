// Keyset pagination over a read-model collection, for every list query: a list's sort orders
// (shared/transport/cursor.ts) mapped to document fields, ties broken by _id, so every item is
// listed exactly once across pages even while others are added.
import type { Collection, Filter } from "mongodb";
import type { SortOf, SortOrders } from "../transport/cursor.ts";
import type { ReadModelDoc } from "./versioned-projection.ts";

/** `orders`' sorts over the document fields `fields` names (often a normalised copy, e.g. sortName). */
export function keyset<K extends string>(orders: SortOrders<K>, fields: Record<K, string>) {
  const sortOf = (sort: SortOf<K>) => {
    const { name, direction } = orders.parts(sort);
    return { field: fields[name], direction };
  };

  /** The sort `page` runs: the field, then _id, both in the sort's direction. */
  function sortSpec(sort: SortOf<K>): Record<string, 1 | -1> {
    const { field, direction } = sortOf(sort);
    return { [field]: direction, _id: direction };
  }

  /** The condition "after the cursor" in the sort's order. */
  function after(raw: string, sort: SortOf<K>): Filter<ReadModelDoc> {
    const { last, id } = orders.decode(raw, sort);
    const { field, direction } = sortOf(sort);
    const op = direction === -1 ? "$lt" : "$gt";
    return { $or: [{ [field]: { [op]: last } }, { [field]: last, _id: { [op]: id } }] } as Filter<ReadModelDoc>;
  }

  /**
   * The live documents matching `filters`, after the request's cursor: the filter `page` runs.
   * Exposed so that a list's unit tests can check it whole.
   */
  function filter(filters: Filter<ReadModelDoc>[], request: { sort?: string; cursor?: string }): Filter<ReadModelDoc> {
    const and: Filter<ReadModelDoc>[] = [{ deleted: false }, ...filters];
    if (request.cursor !== undefined) and.push(after(request.cursor, orders.sortFor(request)));
    return { $and: and };
  }

  /** One page in the request's sort order, and the cursor of the next one if there is more. */
  async function page<Doc extends ReadModelDoc>(
    collection: Collection<Doc>,
    filters: Filter<ReadModelDoc>[],
    request: { sort?: string; limit?: number; cursor?: string },
    maxTimeMS: number,
  ): Promise<{ docs: Doc[]; nextCursor: string | undefined }> {
    const sort = orders.sortFor(request);
    const limit = request.limit ?? 20;
    const { field } = sortOf(sort);
    // The driver's types cannot follow a generic document through a built filter.
    const found = (await (collection as unknown as Collection<ReadModelDoc>)
      .find(filter(filters, request))
      .sort(sortSpec(sort))
      .limit(limit + 1)
      .maxTimeMS(maxTimeMS)
      .toArray()) as Doc[];
    const docs = found.slice(0, limit);
    const last = docs.at(-1);
    const lastValue = last ? (last as unknown as Record<string, unknown>)[field] : undefined;
    const more =
      found.length > limit && last !== undefined && (typeof lastValue === "string" || typeof lastValue === "number");
    return { docs, nextCursor: more ? orders.encode(sort, lastValue, last._id) : undefined };
  }

  return { after, filter, sortSpec, page };
}
