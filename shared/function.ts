// A command or query as one self-contained module: its request schema, its handler (dependencies
// injected), and its HTTP side. `defineFunction` turns that into what each tier needs: the writer or
// reader serves it as a unary gRPC method, the gateway mounts its routes with a gRPC call in place of
// the handler, and `npm run invoke` runs the handler directly.
import type * as grpc from "@grpc/grpc-js";
import type { Context, Hono } from "hono";
import type * as v from "valibot";
import { callUnary, type Logger, serveUnary, type UnaryMethod } from "./grpc.ts";
import { forwardedMetadata } from "./idempotency.ts";
import type { ReaderDeps, WriterDeps } from "./tiers.ts";
import { parseInput } from "./validation.ts";

export type Tier = "writer" | "reader";

interface TierDeps {
  writer: WriterDeps;
  reader: ReaderDeps;
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
