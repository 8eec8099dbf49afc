// A JSON client for the end-to-end tests: one call, its status, headers and parsed body; and the
// wait around a delete that listings must reflect.
import { adminHeaders } from "./auth.ts";
import { eventually } from "./system.ts";

export interface Json {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/**
 * Sends `body` as JSON (a string is sent as it is, to test malformed bodies), as a caller with every
 * role unless `headers` names an authorization (an empty one sends none).
 */
export async function callJson(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  given: Record<string, string> = {},
): Promise<Json> {
  const named = Object.keys(given).find((name) => name.toLowerCase() === "authorization");
  const headers = named === undefined ? { ...(await adminHeaders()), ...given } : { ...given };
  if (named !== undefined && headers[named] === "") delete headers[named];
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** The ids a listing answers with (none while it fails, e.g. a 503 under load). */
export async function listedIds(base: string, listing: string): Promise<string[] | undefined> {
  const page = await callJson(base, "GET", listing);
  return page.status === 200 ? (page.body.items as { id: string }[]).map((item) => item.id) : undefined;
}

/**
 * Deletes `id` at `path` once `listing` shows it, then waits until `listing` holds `expected` items
 * and not that one. Waiting for it to be listed first matters: "not listed" is also true before its
 * create has been projected, and the delete's projection would then still be to come.
 */
export async function deleteOnceListed(
  base: string,
  { listing, path, id, expected }: { listing: string; path: string; id: string; expected: number },
): Promise<void> {
  await eventually(
    `${id} to be listed before it is deleted`,
    async () => ((await listedIds(base, listing))?.includes(id) ? true : undefined),
    30_000,
  );
  const deleted = await callJson(base, "DELETE", path);
  if (deleted.status !== 204) throw new Error(`DELETE ${path}: ${deleted.status} ${JSON.stringify(deleted.body)}`);
  await eventually(
    `${expected} listed and ${id} gone`,
    async () => {
      const ids = await listedIds(base, listing);
      return ids && ids.length === expected && !ids.includes(id) ? true : undefined;
    },
    30_000,
  );
}
