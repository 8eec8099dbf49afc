// PostgreSQL error codes through drizzle's wrapping (DrizzleQueryError keeps the driver's error as cause).
export function pgError(error: unknown): { code?: string; constraint_name?: string } | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return e as { code?: string; constraint_name?: string };
  }
  return undefined;
}

export const UNIQUE_VIOLATION = "23505";
export const LOCK_NOT_AVAILABLE = "55P03";
