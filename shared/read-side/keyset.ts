// Keyset pagination over a read-model collection, for every list query: a list's sort orders
// (shared/transport/cursor.ts) mapped to document fields, ties broken by _id, so every item is
// listed exactly once across pages even while others are added.
//
// A first page is bounded below by the sort field's least value. A tombstone
// ({_id, version, deleted: true}) has no sort field, and an index puts documents without the field
// first in ascending order, on MongoDB and on FerretDB (NULLS FIRST) alike: without the bound, the
// first page of a list by name walked past every product ever deleted before the first live one
// (5,000 rows, 48 ms in PostgreSQL, at 100k products with 5% deleted). With it an ascending walk
// starts at the first document that has the field, and a descending one that cannot fill its page
// stops there instead of walking the tombstones at the end. A later page starts at its cursor.
import type { Collection, Filter } from "mongodb";
import type { SortOf, SortOrders } from "../transport/cursor.ts";
import { traced } from "./read-model-spans.ts";
import type { ReadModelDoc } from "./versioned-projection.ts";

/**
 * The document field a sort order reads (often a normalised copy, e.g. sortName), and a value no
 * live document's field is below: "" for a string, Number.MIN_SAFE_INTEGER for a number.
 */
export interface SortField {
  field: string;
  least: string | number;
}

/** `orders`' sorts over the document fields `fields` names. */
export function keyset<K extends string>(orders: SortOrders<K>, fields: Record<K, SortField>) {
  const sortOf = (sort: SortOf<K>) => {
    const { name, direction } = orders.parts(sort);
    return { ...fields[name], direction };
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
    const sort = orders.sortFor(request);
    const and: Filter<ReadModelDoc>[] = [{ deleted: false }, ...filters];
    if (request.cursor !== undefined) and.push(after(request.cursor, sort));
    else {
      const { field, least } = sortOf(sort);
      and.push({ [field]: { $gte: least } } as Filter<ReadModelDoc>);
    }
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
    const found = (await traced(collection, "find", () =>
      (collection as unknown as Collection<ReadModelDoc>)
        .find(filter(filters, request))
        .sort(sortSpec(sort))
        .limit(limit + 1)
        .maxTimeMS(maxTimeMS)
        .toArray(),
    )) as Doc[];
    const docs = found.slice(0, limit);
    const last = docs.at(-1);
    const lastValue = last ? (last as unknown as Record<string, unknown>)[field] : undefined;
    const more =
      found.length > limit && last !== undefined && (typeof lastValue === "string" || typeof lastValue === "number");
    return { docs, nextCursor: more ? orders.encode(sort, lastValue, last._id) : undefined };
  }

  return { after, filter, sortSpec, page };
}
