// The gateway's half of idempotency keys: it checks an Idempotency-Key header and forwards it, with
// its scope (the method and route), as gRPC metadata. The writer's half, which stores the key with
// the command's effect, is shared/write-side/idempotency.ts.
import * as grpc from "@grpc/grpc-js";
import type { Context } from "hono";
import { invalidInput } from "../platform/errors.ts";

export const IDEMPOTENCY_KEY = "idempotency-key";
export const IDEMPOTENCY_SCOPE = "idempotency-scope";

/** The gRPC metadata a gateway call carries: the Idempotency-Key and its scope, when given. */
export function forwardedMetadata(c: Context, metadata = new grpc.Metadata()): grpc.Metadata {
  const key = c.req.header("Idempotency-Key");
  if (key === undefined) return metadata;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw invalidInput("Idempotency-Key must be 1 to 255 visible ASCII characters", [
      { path: "Idempotency-Key", message: "1 to 255 visible ASCII characters" },
    ]);
  }
  metadata.set(IDEMPOTENCY_KEY, key);
  metadata.set(IDEMPOTENCY_SCOPE, `${c.req.method} ${c.req.routePath}`);
  return metadata;
}
