// Field schemas every aggregate's API shares: ids, versions, timestamps, and the query-string form
// of a request's fields.
import * as v from "valibot";
import { IntegerString } from "./http.ts";
import { storableText } from "./validation.ts";

export const Id = v.pipe(v.string(), v.uuid("must be a UUID"));
export const Version = v.pipe(v.number(), v.integer(), v.minValue(1, "versions start at 1"));
export const Timestamp = v.pipe(v.string(), v.isoTimestamp());

/** A name people read (a product's, a user's): one line, trimmed, 1 to 200 characters. */
export const DisplayName = v.pipe(
  v.string(),
  v.trim(),
  v.minLength(1, "name must not be empty"),
  v.maxLength(200, "name is at most 200 characters"),
  storableText("name"),
);

/** What a command answers: the aggregate's id and its version after the change. */
export const versionOf = () => v.strictObject({ id: Id, version: Version });

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
    return schema.type === "number" ? v.pipe(IntegerString, schema as v.GenericSchema<number, number>) : schema;
  };
  return Object.fromEntries(
    Object.entries(entries).map(([name, schema]) => [name, fromText(schema)]),
  ) as unknown as QueryFields<E>;
}
