// valibot at every trust boundary: a failed parse becomes one invalid_input error naming each field.
import * as v from "valibot";
import { type FieldError, invalidInput } from "../platform/errors.ts";

/** An object schema that refuses every unknown key by name (strictObject stops at the first). */
export function fieldsOnly<const E extends v.ObjectEntries>(entries: E) {
  return v.objectWithRest(entries, v.never("unknown field"));
}

function message(issue: v.BaseIssue<unknown>): string {
  // valibot reports a missing key as an object issue whose received value is undefined.
  if (issue.kind === "schema" && issue.received === "undefined" && issue.expected?.startsWith('"'))
    return "is required";
  return issue.message;
}

export function fieldErrors(issues: readonly v.BaseIssue<unknown>[], prefix = ""): FieldError[] {
  return issues.map((issue) => {
    const dotPath = v.getDotPath(issue);
    const path = [prefix, dotPath].filter((part) => part !== "" && part !== null).join(".");
    return { path: path === "" ? "(body)" : path, message: message(issue) };
  });
}

/** Parses `input` with `schema` or throws invalid_input listing every offending field. */
export function parseInput<S extends v.GenericSchema>(schema: S, input: unknown, prefix = ""): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const errors = fieldErrors(result.issues, prefix);
  throw invalidInput(`invalid ${errors.map((error) => error.path).join(", ")}`, errors);
}

export const withoutNul = (text: string) => !text.includes("\u0000");
