// valibot at every trust boundary: a failed parse becomes one invalid_input error naming each field.
import * as v from "valibot";
import { type FieldError, invalidInput } from "./errors.ts";

export function fieldErrors(issues: readonly v.BaseIssue<unknown>[], prefix = ""): FieldError[] {
  return issues.map((issue) => {
    const dotPath = v.getDotPath(issue);
    const path = [prefix, dotPath].filter((part) => part !== "" && part !== null).join(".");
    return { path: path === "" ? "(body)" : path, message: issue.message };
  });
}

/** Parses `input` with `schema` or throws invalid_input listing every offending field. */
export function parseInput<S extends v.GenericSchema>(schema: S, input: unknown, prefix = ""): v.InferOutput<S> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  const errors = fieldErrors(result.issues, prefix);
  throw invalidInput(`invalid ${errors.map((error) => error.path).join(", ")}`, errors);
}
