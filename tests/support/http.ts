// A JSON client for the end-to-end tests: one call, its status, headers and parsed body.
export interface Json {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** Sends `body` as JSON (a string is sent as it is, to test malformed bodies). */
export async function callJson(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Json> {
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
