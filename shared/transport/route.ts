// An HTTP route as a function declares it, once: its method and path, what it parses (path
// parameters, query string, headers, body), how the parsed input becomes the gRPC request, and what
// it answers. The gateway's Hono handler (route-handler.ts) and the OpenAPI operation (openapi.ts)
// are both derived from this one declaration, so they cannot drift apart.
import type * as v from "valibot";

/**
 * Request headers whose meaning the whole API shares. Idempotency-Key is not listed per route: the
 * writer honours it on every command, so the gateway forwards it and the document adds it to each.
 */
export type RequestHeader = "If-Match" | "If-None-Match" | "X-Min-Version";
/** Response headers whose meaning the whole API shares. */
export type ResponseHeader = "ETag" | "Location";

export interface ResponseDoc {
  description: string;
  /** The JSON body, if any. */
  schema?: v.GenericSchema;
  /** Makes `schema` a reusable component under this name (and every other use of it a reference). */
  name?: string;
  headers?: ResponseHeader[];
}

/** What a route hands to `toRequest`: each part parsed with the schema declared for it. */
export interface RouteInput<P extends string, Q, B> {
  params: Record<P, string>;
  query: Q;
  body: B;
  /** The version headers the route declares, as numbers (If-Match: "3" is 3). */
  headers: { "If-Match"?: number; "X-Min-Version"?: number };
}

/** The documented part of a route, what OpenAPI shows (typed loosely so routes of every function fit one list). */
export interface HttpOperation {
  method: "get" | "post" | "patch" | "delete";
  /** OpenAPI style, e.g. /api/v1/products/{id}; the Hono path (:id) is derived from it. */
  path: string;
  /** Groups operations in the document: the aggregate's name and what it is. */
  tag: { name: string; description: string };
  summary: string;
  /** Each `{name}` of `path`: its schema and meaning. */
  pathParams?: Record<string, { schema: v.GenericSchema<unknown, string>; description: string }>;
  /** The schema the query string is parsed with (an object of strings), and what each parameter means. */
  query?: { schema: v.GenericSchema; descriptions: Record<string, string> };
  headers?: RequestHeader[];
  /** The JSON body the route parses with `schema`; `example` is checked against it when the document is built. */
  body?: { schema: v.GenericSchema; example: unknown };
  /**
   * Success responses by status: exactly one 2xx, which the route answers, and a 304 when the
   * route honours If-None-Match. A 2xx with a schema carries the body as JSON; ETag and Location
   * come from the body's version and id.
   */
  responses: Record<number, ResponseDoc>;
  /** Domain problems besides the standard ones, by status: what each means here (e.g. 404: no such product). */
  problems?: Record<number, string>;
}

export interface Route<Req, Res> extends HttpOperation {
  /** The gRPC request from the parsed input. A method, so routes of every input type fit one list. */
  toRequest(input: RouteInput<string, unknown, unknown>): Req;
  /** What the 2xx answers, from the gRPC response (default: the response itself); undefined is a 404. */
  reply?(response: Res): ReplyBody | undefined;
  /** The detail of that 404. */
  missing?: string;
}

/** A reply that ETag and Location can be taken from. */
export type ReplyBody = { id?: string; version?: number } & object;

/** The route as a function writes it: `toRequest` sees the types its schemas parse to. */
export interface RouteSpec<Req, Res, P extends string, Q, B> extends Omit<Route<Req, Res>, "toRequest" | "pathParams"> {
  pathParams?: Record<P, { schema: v.GenericSchema<unknown, string>; description: string }>;
  query?: { schema: v.GenericSchema<unknown, Q>; descriptions: Record<string, string> };
  body?: { schema: v.GenericSchema<unknown, B>; example: unknown };
  toRequest(input: RouteInput<P, Q, B>): Req;
}

/** /api/v1/products/{id} -> /api/v1/products/:id */
export const honoPath = (path: string) => path.replaceAll(/\{([^}]+)\}/g, ":$1");
