// A command or query as one self-contained module: its request schema, its handler (dependencies
// injected), and its HTTP side. `defineFunction` turns that into what each tier needs: the writer or
// reader serves it as a unary gRPC method, the gateway mounts its routes with a gRPC call in place of
// the handler, and `npm run invoke` runs the handler directly. Its `operations` describe those
// routes for the OpenAPI document (shared/transport/openapi.ts), with the very schemas the routes parse.
import type * as grpc from "@grpc/grpc-js";
import type { Context, Hono } from "hono";
import type * as v from "valibot";
import { forwardedMetadata } from "../write-side/idempotency.ts";
import { callUnary, type Logger, serveUnary, type UnaryMethod } from "./grpc.ts";
import type { ReaderDeps, WriterDeps } from "./tiers.ts";
import { parseInput } from "./validation.ts";

export type Tier = "writer" | "reader";

interface TierDeps {
  writer: WriterDeps;
  reader: ReaderDeps;
}

/**
 * Request headers whose meaning the whole API shares (shared/transport/http.ts). Idempotency-Key is not
 * listed per operation: the writer honours it on every command, so the document adds it to each.
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

/**
 * One HTTP route of a function, as the OpenAPI document shows it. The schemas are the ones the
 * route parses with, so the document cannot drift from what is validated. Every operation can
 * also answer 400 (its input) and 503 (its tier), a command also 409 and 422 (Idempotency-Key)
 * and one with a body 413: the document adds those.
 */
export interface HttpOperation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI style, e.g. /api/v1/products/{id}. */
  path: string;
  /** Groups operations in the document: the aggregate's name and what it is. */
  tag: { name: string; description: string };
  summary: string;
  /** Defaults to the function's name; a function with more than one route names the others. */
  operationId?: string;
  /** Each `{name}` of `path`: its schema and meaning. */
  pathParams?: Record<string, { schema: v.GenericSchema; description: string }>;
  /** The schema the query string is parsed with (an object of strings), and what each parameter means. */
  query?: { schema: v.GenericSchema; descriptions: Record<string, string> };
  headers?: RequestHeader[];
  /** The JSON body the route parses with `schema`; `example` is checked against it when the document is built. */
  body?: { schema: v.GenericSchema; example: unknown };
  /** Success responses by status. */
  responses: Record<number, ResponseDoc>;
  /** Domain problems besides the standard ones, by status: what each means here (e.g. 404: no such product). */
  problems?: Record<number, string>;
}

export interface FunctionSpec<T extends Tier, Req, Res> {
  /** The rpc name, e.g. CreateProduct. */
  name: string;
  tier: T;
  description: string;
  method: UnaryMethod<Req, Res>;
  /** Validates the request at the tier (gRPC is a trust boundary) and in `invoke`. */
  request: v.GenericSchema<unknown, Req>;
  handler: (deps: TierDeps[T]) => (request: Req) => Promise<Res>;
  /**
   * The HTTP side: routes that turn HTTP into a request, `call` it (passing the request's context,
   * whose Idempotency-Key travels along), and turn the response into HTTP.
   */
  http: (call: (request: Req, c: Context) => Promise<Res>) => Hono;
  /** What the document says about each route `http` serves (the gateway's tests check they agree). */
  operations: HttpOperation[];
}

/**
 * Wraps every call a tier serves, e.g. the writer's idempotency keys: it may answer by itself, or
 * call `next` with the dependencies the handler should get (a transaction of its own).
 */
export type CallMiddleware<D> = (
  call: { path: string; metadata: grpc.Metadata; request: unknown },
  deps: D,
  next: (deps: D) => Promise<unknown>,
) => Promise<unknown>;

export interface AppFunction<T extends Tier = Tier> {
  name: string;
  tier: T;
  description: string;
  /** The gRPC method path, e.g. /writer.v1.WriterService/CreateProduct. */
  path: string;
  operations: readonly HttpOperation[];
  serve(server: grpc.Server, deps: TierDeps[T], log: Logger, middleware?: CallMiddleware<TierDeps[T]>): void;
  routes(client: grpc.Client, deadlineMs: number): Hono;
  invoke(deps: TierDeps[T], input: unknown): Promise<unknown>;
}

export type AnyFunction = AppFunction<"writer"> | AppFunction<"reader">;

export function defineFunction<T extends Tier, Req, Res>(spec: FunctionSpec<T, Req, Res>): AppFunction<T> {
  return {
    name: spec.name,
    tier: spec.tier,
    description: spec.description,
    path: spec.method.path,
    operations: spec.operations,
    serve: (server, deps, log, middleware) =>
      serveUnary(
        server,
        spec.method,
        spec.request,
        (request, metadata) =>
          middleware
            ? // What a middleware answers by itself is a response it stored earlier for this method.
              (middleware({ path: spec.method.path, metadata, request }, deps, (d) =>
                spec.handler(d)(request),
              ) as Promise<Res>)
            : spec.handler(deps)(request),
        log,
      ),
    routes: (client, deadlineMs) =>
      spec.http((request, c) => callUnary(client, spec.method, request, deadlineMs, forwardedMetadata(c))),
    invoke: (deps, input) => spec.handler(deps)(parseInput(spec.request, input)),
  };
}
