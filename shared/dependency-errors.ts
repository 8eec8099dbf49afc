// Which failures mean "a database or broker behind this tier is down or refusing work; try again"
// (UNAVAILABLE, so 503 with Retry-After at the gateway) rather than a bug (INTERNAL, 500). Judged
// by the error codes and names the drivers document, anywhere along the cause chain.

/** Node's socket errors: nothing listens, the peer went away, the name does not resolve. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
/** postgres.js's own connection errors. */
const POSTGRES_JS_CODES = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT"]);
/** PostgreSQL SQLSTATEs: shutting down, not accepting connections yet, too many connections, out of resources. */
const POSTGRES_STATES = new Set(["57P01", "57P02", "57P03", "53300", "53200", "53100"]);
/** The MongoDB driver's errors for an unreachable or closed deployment. */
const MONGO_NAMES = new Set([
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoServerSelectionError",
  "MongoTopologyClosedError",
  "MongoNotConnectedError",
  "MongoPoolClearedError",
]);

function isDownHere(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (SOCKET_CODES.has(code) || POSTGRES_JS_CODES.has(code) || POSTGRES_STATES.has(code)) return true;
    // Class 08: connection exception.
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  return MONGO_NAMES.has(error.name);
}

export function isDependencyDown(error: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const e = pending.pop();
    if (!(e instanceof Error) || seen.has(e)) continue;
    seen.add(e);
    if (isDownHere(e)) return true;
    pending.push(e.cause);
    // A connect to a name with several addresses fails with every address's error.
    if (e instanceof AggregateError) pending.push(...e.errors);
  }
  return false;
}
