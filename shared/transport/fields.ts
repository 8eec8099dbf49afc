// Field schemas every aggregate's API shares: ids, versions, timestamps, and the query-string form
// of a request's fields.
import * as v from "valibot";
import { text } from "./text.ts";

export const Id = v.pipe(v.string(), v.uuid("must be a UUID"));
export const Version = v.pipe(v.number(), v.integer(), v.minValue(1, "versions start at 1"));
export const Timestamp = v.pipe(v.string(), v.isoTimestamp());

/** A name people read (a product's, a user's): one line, 1 to 200 characters, none of them padding. */
export const DisplayName = text("name", { min: 1, max: 200 });

/** What a command answers: the aggregate's id and its version after the change. */
export const versionOf = () => v.strictObject({ id: Id, version: Version });

/** The bound a number schema's pipe sets with `kind` (min_value or max_value), if any. */
function bound(schema: v.GenericSchema, kind: "min_value" | "max_value"): number | undefined {
  const pipe = (schema as { pipe?: { type: string; requirement?: unknown }[] }).pipe ?? [];
  const action = pipe.find((step) => step.type === kind);
  return typeof action?.requirement === "number" ? action.requirement : undefined;
}

/**
 * The decimal strings of the whole numbers a number schema admits: from 0 or 1 up to a power of ten
 * (every query number here is such a range); anything else is refused when the route is declared.
 */
export function integerPattern(schema: v.GenericSchema): RegExp {
  const min = bound(schema, "min_value");
  const max = bound(schema, "max_value");
  const zeros = max === undefined ? -1 : Math.log10(max);
  if ((min !== 0 && min !== 1) || !Number.isInteger(zeros) || zeros < 1) {
    throw new Error(`a query number must range from 0 or 1 to a power of ten (got ${min} to ${max})`);
  }
  const below = `[1-9]\\d{0,${zeros - 1}}`;
  return new RegExp(`^(?:${min === 0 ? "0|" : ""}${below}|1${"0".repeat(zeros)})$`);
}

/** A field's schema as read from text: optional stays optional, so the object's keys stay optional. */
type FromText<S> =
  S extends v.OptionalSchema<infer W, undefined>
    ? v.OptionalSchema<v.GenericSchema<string, v.InferOutput<W>>, undefined>
    : S extends v.GenericSchema
      ? v.GenericSchema<string, v.InferOutput<S>>
      : never;

type QueryFields<E extends v.ObjectEntries> = { [K in keyof E]: FromText<E[K]> };

/**
 * The query-string form of a request's fields: the same schemas, each number field first parsed
 * from its digits (a query string holds only text). One definition serves the gRPC request and the
 * HTTP query, so the two cannot disagree on a rule.
 */
export function queryStringFields<E extends v.ObjectEntries>(entries: E): QueryFields<E> {
  const fromText = (schema: v.GenericSchema): v.GenericSchema => {
    if (schema.type === "optional" && "wrapped" in schema) {
      return v.optional(fromText(schema.wrapped as v.GenericSchema));
    }
    if (schema.type !== "number") return schema;
    // The digits' pattern states the range too, so the document says exactly which strings pass.
    const digits = v.pipe(v.string(), v.regex(integerPattern(schema), "must be a whole number in range"));
    return v.pipe(digits, v.transform(Number), schema as v.GenericSchema<number, number>);
  };
  return Object.fromEntries(
    Object.entries(entries).map(([name, schema]) => [name, fromText(schema)]),
  ) as unknown as QueryFields<E>;
}
