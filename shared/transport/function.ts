// A command or query, declared once: its gRPC method (whose path gives the function its name and
// tier), its request schema, and its HTTP route. The gateway mounts the route with a gRPC call in
// place of the handler; the writer or reader binds a handler to the same declaration
// (`implement`), in a module of its own that the gateway never loads.
import type * as grpc from "@grpc/grpc-js";
import type { Context, Hono } from "hono";
import type * as v from "valibot";
import type { Log } from "../platform/log.ts";
import { type Access, type CallContext, callContextOf, runAs } from "./caller.ts";
import { callUnary, serveUnary, type UnaryMethod } from "./grpc.ts";
import { forwardedMetadata } from "./idempotency-key.ts";
import type { HttpOperation, Route, RouteSpec } from "./route.ts";
import { routeHandler } from "./route-handler.ts";
import { parseInput } from "./validation.ts";

export type Tier = "writer" | "reader";

/** What every declaration offers, whatever its request and response types (the gateway's list). */
export interface FunctionDeclaration {
  /** The rpc name, e.g. CreateProduct. */
  name: string;
  tier: Tier;
  description: string;
  /** The gRPC method path, e.g. /writer.v1.WriterService/CreateProduct. */
  path: string;
  /** Who may call it: the gateway enforces it, the OpenAPI document shows it. */
  access: Access;
  /** The route as the OpenAPI document shows it. */
  route: HttpOperation;
  /** The Hono route that parses HTTP, calls the tier through `client` and answers. */
  routes(client: grpc.Client, gateway: GatewayCalls): Hono;
}

/** What the gateway gives every route. */
export interface GatewayCalls {
  /** Deadline of each gRPC call. */
  deadlineMs: number;
  /**
   * Checks the caller against `access` (401, 403) and gives the metadata of the call to the tier:
   * the internal credential, the caller and the correlation id.
   */
  admit(c: Context, access: Access): Promise<grpc.Metadata>;
}

export interface TypedDeclaration<Req, Res> extends FunctionDeclaration {
  method: UnaryMethod<Req, Res>;
  /** Validates the request at the tier (gRPC is a trust boundary) and in `invoke`. */
  request: v.GenericSchema<unknown, Req>;
  route: Route<Req, Res>;
}

/** Name and tier from a method path such as /writer.v1.WriterService/CreateProduct. */
export function methodIdentity(path: string): { name: string; tier: Tier } {
  const match = /^\/(writer|reader)\.v\d+\.\w+Service\/(\w+)$/.exec(path);
  if (!match?.[1] || !match[2]) throw new Error(`${path} is not a method of the writer's or reader's service`);
  return { tier: match[1] as Tier, name: match[2] };
}

export function declareFunction<Req, Res, P extends string = never, Q = undefined, B = undefined>(spec: {
  method: UnaryMethod<Req, Res>;
  access: Access;
  description: string;
  request: v.GenericSchema<unknown, Req>;
  route: RouteSpec<Req, Res, P, Q, B>;
}): TypedDeclaration<Req, Res> {
  const route = spec.route as Route<Req, Res>;
  const { name, tier } = methodIdentity(spec.method.path);
  return {
    name,
    tier,
    description: spec.description,
    access: spec.access,
    path: spec.method.path,
    method: spec.method,
    request: spec.request,
    route,
    routes: (client, gateway) =>
      routeHandler(
        route,
        (c) => gateway.admit(c, spec.access),
        (request, c, metadata) =>
          callUnary(client, spec.method, request, gateway.deadlineMs, forwardedMetadata(c, metadata)),
      ),
  };
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

/** How a tier serves its functions. */
export interface ServeOptions<D> {
  log: Log;
  /** Resolves if a call carries a valid internal credential (internal-credential.ts), else rejects. */
  admit: (metadata: grpc.Metadata) => Promise<void>;
  middleware?: CallMiddleware<D>;
}

/** A declaration bound to its handler, on the tier that serves it. */
export interface Implementation<D, Req = unknown, Res = unknown> {
  declaration: TypedDeclaration<Req, Res>;
  /** Serves it: each admitted call runs as the caller its metadata names (caller.ts). */
  serve(server: grpc.Server, deps: D, options: ServeOptions<D>): void;
  /** Runs the handler directly on `input`, validated, as `as` (`npm run invoke`, tests). */
  invoke(deps: D, input: unknown, as?: CallContext): Promise<Res>;
}

export function implement<D, Req, Res>(
  declaration: TypedDeclaration<Req, Res>,
  handle: (request: Req, deps: D) => Promise<Res>,
): Implementation<D, Req, Res> {
  return {
    declaration,
    serve: (server, deps, { log, admit, middleware }) =>
      serveUnary(
        server,
        declaration.method,
        declaration.request,
        (request, metadata) =>
          runAs(callContextOf(metadata), () =>
            middleware
              ? // What a middleware answers by itself is a response it stored earlier for this method.
                (middleware({ path: declaration.path, metadata, request }, deps, (d) =>
                  handle(request, d),
                ) as Promise<Res>)
              : handle(request, deps),
          ),
        log,
        admit,
      ),
    invoke: (deps, input, as = { actor: undefined, correlationId: undefined }) =>
      runAs(as, () => handle(parseInput(declaration.request, input), deps)),
  };
}

type RequestOf<M> = M extends { requestDeserialize(value: Buffer): infer Req } ? Req : never;
type ResponseOf<M> = M extends { responseDeserialize(value: Buffer): infer Res } ? Res : never;

/** One declaration per method of a generated gRPC service: a missing one is a type error. */
export type DeclarationsOf<S> = { [K in keyof S]: TypedDeclaration<RequestOf<S[K]>, ResponseOf<S[K]>> };

/** One handler per method of a generated gRPC service: a missing one is a type error. */
export type ImplementationsOf<S, D> = { [K in keyof S]: Implementation<D, RequestOf<S[K]>, ResponseOf<S[K]>> };
