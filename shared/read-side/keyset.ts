// Keyset pagination over a read-model collection, for every list query: the sorts a list offers
// (each field ascending or, with a leading "-", descending, ties broken by _id), and the opaque
// cursor that holds the sort, the last sort value and the last id, so every item is listed exactly
// once across pages even while others are added. A cursor is checked against its sort, including
// the type of its last value, at the gateway and again at the reader.
import type { Collection, Filter } from "mongodb";
import * as v from "valibot";
import { invalidInput } from "../platform/errors.ts";
import { withoutNul } from "../transport/validation.ts";
import type { ReadModelDoc } from "./versioned-projection.ts";

type LastValue = string | number;

export interface SortField {
  /** The document field the sort uses (often a normalised copy, e.g. sortName). */
  field: string;
  /** What a cursor's last value must be for this sort. */
  last: v.GenericSchema<unknown, LastValue>;
}

export type SortOf<K extends string> = K | `-${K}`;

export const CURSOR_MESSAGE = "not a cursor this API gave out for this sort";

export const Cursor = v.pipe(v.string(), v.maxLength(1000));

export const Limit = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(1, "limit is at least 1"),
  v.maxValue(100, "limit is at most 100"),
);

export function keyset<K extends string>(fields: Record<K, SortField>, defaultSort: NoInfer<K>) {
  const names = Object.keys(fields) as K[];
  const sorts = names.flatMap((name) => [name, `-${name}`]) as SortOf<K>[];
  const sortOf = (sort: SortOf<K>) => {
    const name = (sort.startsWith("-") ? sort.slice(1) : sort) as K;
    return { ...fields[name], direction: sort.startsWith("-") ? (-1 as const) : (1 as const) };
  };
  const Payload = v.strictObject({
    sort: v.picklist(sorts),
    // A cursor this API gave out never holds a NUL; a forged one must not reach the read model.
    last: v.union([v.pipe(v.string(), v.check(withoutNul)), v.number()]),
    id: v.pipe(v.string(), v.uuid()),
  });

  function encode(sort: SortOf<K>, last: LastValue, id: string): string {
    return Buffer.from(JSON.stringify([sort, last, id])).toString("base64url");
  }

  /** The cursor's last value and id; invalid_input on `cursor` for anything this API did not give out for `sort`. */
  function decode(raw: string, sort: SortOf<K>): { last: LastValue; id: string } {
    const bad = (message: string) => invalidInput(`invalid cursor: ${message}`, [{ path: "cursor", message }]);
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
    } catch {
      throw bad("not a cursor this API gave out");
    }
    if (!Array.isArray(decoded) || decoded.length !== 3) throw bad("not a cursor this API gave out");
    const parsed = v.safeParse(Payload, { sort: decoded[0], last: decoded[1], id: decoded[2] });
    if (!parsed.success) throw bad("not a cursor this API gave out");
    if (parsed.output.sort !== sort) throw bad(`it belongs to sort=${parsed.output.sort}, not sort=${sort}`);
    if (!v.is(sortOf(sort).last, parsed.output.last)) throw bad("not a cursor this API gave out");
    return parsed.output;
  }

  function fits(raw: string, sort: SortOf<K>): boolean {
    try {
      decode(raw, sort);
      return true;
    } catch {
      return false;
    }
  }

  /** The condition "after the cursor" in the sort's order. */
  function after(raw: string, sort: SortOf<K>): Filter<ReadModelDoc> {
    const { last, id } = decode(raw, sort);
    const { field, direction } = sortOf(sort);
    const op = direction === -1 ? "$lt" : "$gt";
    return { $or: [{ [field]: { [op]: last } }, { [field]: last, _id: { [op]: id } }] } as Filter<ReadModelDoc>;
  }

  /** The sort a request asks for (the request schemas admit only one of `sorts`; the wire type says string). */
  const sortFor = (request: { sort?: string }) => (request.sort ?? defaultSort) as SortOf<K>;

  /**
   * The live documents matching `filters`, after the request's cursor: the filter `page` runs.
   * Exposed so that a list's unit tests can check it whole.
   */
  function filter(filters: Filter<ReadModelDoc>[], request: { sort?: string; cursor?: string }): Filter<ReadModelDoc> {
    const and: Filter<ReadModelDoc>[] = [{ deleted: false }, ...filters];
    if (request.cursor !== undefined) and.push(after(request.cursor, sortFor(request)));
    return { $and: and };
  }

  /** One page in the request's sort order, and the cursor of the next one if there is more. */
  async function page<Doc extends ReadModelDoc>(
    collection: Collection<Doc>,
    filters: Filter<ReadModelDoc>[],
    request: { sort?: string; limit?: number; cursor?: string },
  ): Promise<{ docs: Doc[]; nextCursor: string | undefined }> {
    const sort = sortFor(request);
    const limit = request.limit ?? 20;
    const { field, direction } = sortOf(sort);
    // The driver's types cannot follow a generic document through a built filter.
    const found = (await (collection as unknown as Collection<ReadModelDoc>)
      .find(filter(filters, request))
      .sort({ [field]: direction, _id: direction })
      .limit(limit + 1)
      .toArray()) as Doc[];
    const docs = found.slice(0, limit);
    const last = docs.at(-1);
    const lastValue = last ? (last as unknown as Record<string, unknown>)[field] : undefined;
    const more =
      found.length > limit && last !== undefined && (typeof lastValue === "string" || typeof lastValue === "number");
    return { docs, nextCursor: more ? encode(sort, lastValue, last._id) : undefined };
  }

  return {
    sorts,
    SortSchema: v.picklist(sorts, `sort is one of ${sorts.join(", ")}`),
    encode,
    decode,
    fits,
    after,
    filter,
    page,
  };
}
