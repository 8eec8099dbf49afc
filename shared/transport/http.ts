// Small HTTP helpers the declared routes share: JSON bodies, query strings, version headers, ETags.
import type { Context } from "hono";
import { DomainError, invalidInput } from "../platform/errors.ts";

/** What a version header may hold: `"<n>"`, weak `W/"<n>"`, bare `<n>`, or `*` (any version). */
export const VERSION_HEADER = /^\s*(?:\*|(?:W\/)?"?([1-9]\d{0,14})"?)\s*$/;

/**
 * The version a version header names; undefined when the header is absent or `*` (RFC 9110: any
 * current version, and a missing aggregate is a 404 either way).
 */
export function versionHeader(c: Context, name: string): number | undefined {
  const raw = c.req.header(name);
  if (raw === undefined) return undefined;
  const match = VERSION_HEADER.exec(raw);
  if (match && match[1] === undefined) return undefined;
  if (!match?.[1])
    throw invalidInput(`${name} must be a version in quotes, e.g. "3"`, [
      { path: name, message: 'expected "<version>"' },
    ]);
  return Number(match[1]);
}

export const etag = (version: number) => `"${version}"`;

/** Whether an If-None-Match value (a list of ETags, or *) names `version`. */
export function etagMatches(header: string, version: number): boolean {
  return header
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === "*" || tag === etag(version));
}

/** `send()` with the version's ETag, or a 304 when If-None-Match names that version (conditional read). */
export function conditional(c: Context, version: number, send: () => Response): Response {
  c.header("ETag", etag(version));
  const ifNoneMatch = c.req.header("If-None-Match");
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, version)) return c.body(null, 304);
  return send();
}

/** The largest count a count header takes: 15 digits, within a JavaScript number's exact integers. */
export const COUNT_HEADER_MAX = 999_999_999_999_999;

/** A header holding a positive whole number (e.g. X-Min-Version: 3); undefined when absent. */
export function countHeader(c: Context, name: string): number | undefined {
  const raw = c.req.header(name);
  if (raw === undefined) return undefined;
  if (!/^\s*[1-9]\d{0,14}\s*$/.test(raw)) {
    throw invalidInput(`${name} must be a positive whole number`, [
      { path: name, message: "expected a positive integer" },
    ]);
  }
  return Number(raw);
}

/** Query parameters as an object; a repeated parameter is a 400 (each takes one value). */
/**
 * Names a schema never declares and JavaScript objects treat specially: the validation library
 * skips them (rather than refusing them as unknown), so they are refused here, by name.
 */
const SPECIAL_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/** A 400 naming every special key in `value` (at any depth), if there is one. */
function refuseSpecialKeys(value: unknown): void {
  const found: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (typeof node !== "object" || node === null) return;
    for (const key of Object.keys(node)) {
      const at = path === "" ? key : `${path}.${key}`;
      if (SPECIAL_KEYS.has(key)) found.push(at);
      else walk((node as Record<string, unknown>)[key], at);
    }
  };
  walk(value, "");
  if (found.length > 0) {
    throw invalidInput(
      `invalid ${found.join(", ")}`,
      found.map((path) => ({ path, message: "unknown field" })),
    );
  }
}

export function queryObject(c: Context): Record<string, string> {
  const all = c.req.queries();
  refuseSpecialKeys(all);
  const out: Record<string, string> = {};
  for (const [name, values] of Object.entries(all)) {
    if (values.length > 1)
      throw invalidInput(`${name} is given more than once`, [{ path: name, message: "give it once" }]);
    const [value] = values;
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Reads a JSON object body; malformed JSON, a non-object or a non-JSON content type is a 400 naming the body. */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
    throw new DomainError("invalid_input", "the body must be application/json", [
      { path: "(body)", message: `expected content-type application/json, got '${type || "none"}'` },
    ]);
  }
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new DomainError("invalid_input", "the body is not valid JSON", [
      { path: "(body)", message: error instanceof Error ? error.message : "malformed JSON" },
    ]);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new DomainError("invalid_input", "the body must be a JSON object", [
      { path: "(body)", message: "expected a JSON object" },
    ]);
  }
  refuseSpecialKeys(body);
  return body;
}
