// The gateway's side of a declared route: a Hono handler that parses each part of the request with
// the schema the route declares (a 400 naming every bad field), builds the gRPC request, calls the
// tier, and answers the declared success status with its headers (ETag, Location) and body.
import { type Context, Hono } from "hono";
import { notFound } from "../platform/errors.ts";
import { conditional, countHeader, queryObject, readJson, versionHeader } from "./http.ts";
import { honoPath, type ReplyBody, type Route, type RouteInput } from "./route.ts";
import { parseInput } from "./validation.ts";

type SuccessStatus = 200 | 201 | 204;

/** The route's one 2xx status (checked again when the OpenAPI document is built). */
function successOf(route: Route<unknown, unknown>): SuccessStatus {
  const statuses = Object.keys(route.responses)
    .map(Number)
    .filter((status) => status >= 200 && status < 300);
  const [status] = statuses;
  if (statuses.length !== 1 || (status !== 200 && status !== 201 && status !== 204)) {
    throw new Error(`${route.method.toUpperCase()} ${route.path} must declare exactly one of 200, 201, 204`);
  }
  return status;
}

async function parseRequest(route: Route<unknown, unknown>, c: Context): Promise<RouteInput<string, unknown, unknown>> {
  const params: Record<string, string> = {};
  for (const [name, { schema }] of Object.entries(route.pathParams ?? {})) {
    params[name] = parseInput(schema, c.req.param(name), name);
  }
  const declared = new Set(route.headers ?? []);
  return {
    params,
    query: route.query ? parseInput(route.query.schema, queryObject(c)) : undefined,
    body: route.body ? parseInput(route.body.schema, await readJson(c)) : undefined,
    headers: {
      "If-Match": declared.has("If-Match") ? versionHeader(c, "If-Match") : undefined,
      "X-Min-Version": declared.has("X-Min-Version") ? countHeader(c, "X-Min-Version") : undefined,
    },
  };
}

/**
 * `admit` runs first (a caller who may not call it learns nothing about its input), then the request
 * is parsed and `call` gets it with what `admit` gave.
 */
export function routeHandler<Req, Res, A>(
  route: Route<Req, Res>,
  admit: (c: Context) => Promise<A>,
  call: (request: Req, c: Context, admitted: A) => Promise<Res>,
): Hono {
  const status = successOf(route as Route<unknown, unknown>);
  const success = route.responses[status];
  const headers = new Set(success?.headers ?? []);
  const conditionalRead = (route.headers ?? []).includes("If-None-Match");
  return new Hono().on(route.method.toUpperCase(), honoPath(route.path), async (c) => {
    const admitted = await admit(c);
    const request = route.toRequest(await parseRequest(route as Route<unknown, unknown>, c));
    const response = await call(request, c, admitted);
    const body: ReplyBody | undefined = route.reply ? route.reply(response) : (response as ReplyBody);
    if (body === undefined) throw notFound(route.missing ?? "not found");
    if (headers.has("Location") && body.id !== undefined) c.header("Location", `${c.req.path}/${body.id}`);
    if (conditionalRead && body.version !== undefined) return conditional(c, body.version, () => c.json(body, 200));
    if (headers.has("ETag") && body.version !== undefined) c.header("ETag", `"${body.version}"`);
    if (status === 204 || !success?.schema) return c.body(null, status);
    return c.json(body, status);
  });
}
