// Which failures mean "a database or broker behind this tier is down or refusing work; try again"
// (UNAVAILABLE, so 503 with Retry-After at the gateway) rather than a bug (INTERNAL, 500). Judged
// by the error codes, names and labels the drivers document, anywhere along the cause chain.

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
/** Class 08 (connection exception), except 08P01: a protocol violation is a bug, not an outage. */
const isConnectionException = (code: string) => /^08[0-9A-Z]{3}$/.test(code) && code !== "08P01";

/** The MongoDB driver's errors for an unreachable, closed or closing deployment. */
const MONGO_NAMES = new Set([
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoServerSelectionError",
  "MongoTopologyClosedError",
  "MongoServerClosedError",
  "MongoClientClosedError",
  "MongoNotConnectedError",
  "MongoPoolClearedError",
]);
/**
 * Server codes the driver itself retries reads and writes on (HostUnreachable, HostNotFound,
 * NetworkTimeout, ShutdownInProgress, PrimarySteppedDown, SocketException, NotWritablePrimary,
 * InterruptedAtShutdown, InterruptedDueToReplStateChange, NotPrimaryNoSecondaryOk,
 * NotPrimaryOrSecondary, ExceededTimeLimit, ReadConcernMajorityNotAvailableYet), and
 * MaxTimeMSExpired (50): the read model did not answer within the query's time limit.
 */
const MONGO_CODES = new Set([6, 7, 50, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436, 262, 134]);
const MONGO_LABELS = ["RetryableWriteError", "ResetPool"];
/**
 * FerretDB (the local stack's MongoDB-wire server) answers InternalError (1) when its own
 * PostgreSQL does not answer, saying so only in the message (seen with FerretDB 1.24: "failed to
 * connect to `user=… database=…`: … connect: connection refused").
 */
const FERRETDB_BACKEND_DOWN = /failed to connect to `user=|connect: connection refused/;
/**
 * FerretDB passes on its PostgreSQL's errors as InternalError with the SQLSTATE in the message,
 * e.g. "FATAL: terminating connection due to unexpected postmaster exit (SQLSTATE 57P01)" when that
 * PostgreSQL was killed under a query.
 */
const FERRETDB_SQLSTATE = /\(SQLSTATE ([0-9A-Z]{5})\)/;

const isPostgresDown = (state: string) => POSTGRES_STATES.has(state) || isConnectionException(state);

function isDownHere(error: Error): boolean {
  const { code } = error as { code?: unknown };
  if (typeof code === "string") {
    return SOCKET_CODES.has(code) || POSTGRES_JS_CODES.has(code) || isPostgresDown(code);
  }
  if (!error.name.startsWith("Mongo")) return false;
  if (MONGO_NAMES.has(error.name)) return true;
  if (typeof code === "number" && MONGO_CODES.has(code)) return true;
  if (code === 1 && FERRETDB_BACKEND_DOWN.test(error.message)) return true;
  const state = code === 1 ? FERRETDB_SQLSTATE.exec(error.message)?.[1] : undefined;
  if (state !== undefined && isPostgresDown(state)) return true;
  const labelled = error as { hasErrorLabel?: (label: string) => boolean };
  return MONGO_LABELS.some((label) => labelled.hasErrorLabel?.(label) === true);
}

/** Every error in `error`'s cause chain, and in an AggregateError's errors (a connect to several addresses). */
function* chain(error: unknown): Generator<Error> {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const e = pending.pop();
    if (!(e instanceof Error) || seen.has(e)) continue;
    seen.add(e);
    yield e;
    pending.push(e.cause);
    if (e instanceof AggregateError) pending.push(...e.errors);
  }
}

export function isDependencyDown(error: unknown): boolean {
  for (const e of chain(error)) if (isDownHere(e)) return true;
  return false;
}

/** One line for a log or a terminal: the first message in the chain, with its type and code. */
export function describeError(error: unknown): string {
  for (const e of chain(error)) {
    if (e.message === "") continue;
    const { code } = e as { code?: unknown };
    const text = e.name === "Error" ? e.message : `${e.name}: ${e.message}`;
    return code === undefined || e.message.includes(String(code)) ? text : `${text} (${String(code)})`;
  }
  const { code } = (error ?? {}) as { code?: unknown };
  return error instanceof Error ? `${error.name}${code === undefined ? "" : ` (${String(code)})`}` : String(error);
}
