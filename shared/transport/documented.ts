// What a valibot pipe step states in the OpenAPI document besides its own conversion: a check in
// code (a text field's rules, an email's format) is marked with the JSON Schema keywords it stands
// for, and openapi.ts merges them into the converted schema. An unmarked check states nothing.
import type { JsonSchema } from "@valibot/to-json-schema";

/** The keywords of each marked step, by the step's identity. */
const documentation = new WeakMap<object, JsonSchema>();

/** Marks a pipe step as stating `schema` in the document. */
export function documented<A extends object>(action: A, schema: JsonSchema): A {
  documentation.set(action, schema);
  return action;
}

/** What the document states for a pipe step besides its own conversion, if it is marked. */
export function documentationOf(action: object): JsonSchema | undefined {
  return documentation.get(action);
}
