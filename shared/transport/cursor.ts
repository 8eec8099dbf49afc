// The sorts a list offers and its opaque cursors, as the API sees them: each sort is a field
// ascending or, with a leading "-", descending; a cursor holds the sort, the last sort value and
// the last id. A cursor is checked against its sort, including the type of its last value, at the
// gateway and again at the reader. How a cursor becomes a read-model query is
// shared/read-side/keyset.ts.
import * as v from "valibot";
import { invalidInput } from "../platform/errors.ts";
import { withoutNul } from "./validation.ts";

export type LastValue = string | number;

export type SortOf<K extends string> = K | `-${K}`;

export const CURSOR_MESSAGE = "not a cursor this API gave out for this sort";

export const Cursor = v.pipe(v.string(), v.maxLength(1000));

export const Limit = v.pipe(
  v.number(),
  v.integer(),
  v.minValue(1, "limit is at least 1"),
  v.maxValue(100, "limit is at most 100"),
);

export interface SortOrders<K extends string> {
  names: K[];
  sorts: SortOf<K>[];
  defaultSort: K;
  SortSchema: v.PicklistSchema<SortOf<K>[], string>;
  /** The sort a request asks for (the request schemas admit only one of `sorts`; the wire type says string). */
  sortFor(request: { sort?: string }): SortOf<K>;
  /** The sort's key and direction. */
  parts(sort: SortOf<K>): { name: K; direction: 1 | -1 };
  encode(sort: SortOf<K>, last: LastValue, id: string): string;
  /** The cursor's last value and id; invalid_input on `cursor` for anything this API did not give out for `sort`. */
  decode(raw: string, sort: SortOf<K>): { last: LastValue; id: string };
  fits(raw: string, sort: SortOf<K>): boolean;
}

/** The sorts of one list: each key with what a cursor's last value must be for it. */
export function sortOrders<K extends string>(
  lastValues: Record<K, v.GenericSchema<unknown, LastValue>>,
  defaultSort: NoInfer<K>,
): SortOrders<K> {
  const names = Object.keys(lastValues) as K[];
  const sorts = names.flatMap((name) => [name, `-${name}`]) as SortOf<K>[];
  const parts = (sort: SortOf<K>) => ({
    name: (sort.startsWith("-") ? sort.slice(1) : sort) as K,
    direction: sort.startsWith("-") ? (-1 as const) : (1 as const),
  });
  const Payload = v.strictObject({
    sort: v.picklist(sorts),
    // A cursor this API gave out never holds a NUL; a forged one must not reach the read model.
    last: v.union([v.pipe(v.string(), v.check(withoutNul)), v.number()]),
    id: v.pipe(v.string(), v.uuid()),
  });

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
    if (!v.is(lastValues[parts(sort).name], parsed.output.last)) throw bad("not a cursor this API gave out");
    return parsed.output;
  }

  return {
    names,
    sorts,
    defaultSort,
    SortSchema: v.picklist(sorts, `sort is one of ${sorts.join(", ")}`),
    sortFor: (request) => (request.sort ?? defaultSort) as SortOf<K>,
    parts,
    encode: (sort, last, id) => Buffer.from(JSON.stringify([sort, last, id])).toString("base64url"),
    decode,
    fits(raw, sort) {
      try {
        decode(raw, sort);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Whether a query's `cursor` belongs to its sort (a query-string check: a 400 at the gateway). */
export const cursorFitsSort = <K extends string>(orders: SortOrders<K>, input: { sort?: SortOf<K>; cursor?: string }) =>
  input.cursor === undefined || orders.fits(input.cursor, input.sort ?? orders.defaultSort);
