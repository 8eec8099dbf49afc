// Idempotency keys (Idempotency-Key on a POST). The gateway forwards the key with its scope (the
// route) as gRPC metadata (shared/transport/idempotency-key.ts); the writer's middleware stores it in PostgreSQL in the same transaction as
// the command's effect. A repeat with the same key and request gets the stored response and writes
// nothing; the same key with another request is a 422; a repeat while the first is still in flight
// waits on the first's uncommitted key row, and past a short lock timeout gets a 409 (in progress).
import crypto from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { DomainError } from "../platform/errors.ts";
import type { CallMiddleware } from "../transport/function.ts";
import { IDEMPOTENCY_KEY, IDEMPOTENCY_SCOPE } from "../transport/idempotency-key.ts";
import { LOCK_NOT_AVAILABLE, pgError } from "./db/errors.ts";
import { idempotencyKeys } from "./db/schema.ts";
import type { WriterDb, WriterDeps } from "./writer-deps.ts";

const IN_FLIGHT_WAIT = "250ms";

function hashRequest(path: string, request: unknown): string {
  return crypto.createHash("sha256").update(path).update("\n").update(JSON.stringify(request)).digest("hex");
}

/** The writer's middleware: honours idempotency keys, even when two repeats race. */
export function idempotency(ttlMs: number): CallMiddleware<WriterDeps> {
  return async (call, deps, next) => {
    const [key] = call.metadata.get(IDEMPOTENCY_KEY);
    const [scope] = call.metadata.get(IDEMPOTENCY_SCOPE);
    if (typeof key !== "string" || typeof scope !== "string") return next(deps);
    const requestHash = hashRequest(call.path, call.request);
    const now = deps.clock();
    const where = and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key));
    return deps.db.transaction(async (tx) => {
      const claim = () =>
        tx
          .insert(idempotencyKeys)
          .values({ scope, key, requestHash, expiresAt: new Date(now.getTime() + ttlMs) })
          .onConflictDoNothing()
          .returning({ key: idempotencyKeys.key });
      // An uncommitted row with this key means the first request is still in flight: wait briefly.
      await tx.execute(sql.raw(`set local lock_timeout = '${IN_FLIGHT_WAIT}'`));
      let claimed: { key: string }[];
      try {
        claimed = await claim();
        if (claimed.length === 0) {
          const [existing] = await tx.select().from(idempotencyKeys).where(where);
          if (existing && existing.expiresAt > now) {
            if (existing.requestHash !== requestHash) {
              throw new DomainError("unprocessable", "this Idempotency-Key was used with a different request");
            }
            return existing.response;
          }
          await tx.delete(idempotencyKeys).where(where);
          claimed = await claim();
        }
      } catch (error) {
        if (pgError(error)?.code === LOCK_NOT_AVAILABLE) {
          throw new DomainError("in_progress", "a request with this Idempotency-Key is still in progress");
        }
        throw error;
      }
      await tx.execute(sql.raw("set local lock_timeout = 0"));
      const response = await next({ ...deps, db: tx });
      await tx.update(idempotencyKeys).set({ response }).where(where);
      return response;
    });
  };
}

/** Deletes expired keys; the writer runs it now and then. */
export async function deleteExpiredKeys(db: WriterDb, now: Date): Promise<number> {
  const deleted = await db
    .delete(idempotencyKeys)
    .where(sql`${idempotencyKeys.expiresAt} <= ${now}`)
    .returning({ key: idempotencyKeys.key });
  return deleted.length;
}
