// Domain errors -> HTTP problem details (RFC 9457), in one place. Every error the gateway answers
// goes through `problemResponse`; anything unexpected is logged and becomes a plain 500 body with
// no internals, though by design no client input reaches that branch.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { DomainError, type ErrorCode, type FieldError } from "../platform/errors.ts";

const HTTP: Record<ErrorCode, { status: number; title: string }> = {
  invalid_input: { status: 400, title: "Bad Request" },
  unauthenticated: { status: 401, title: "Unauthorized" },
  forbidden: { status: 403, title: "Forbidden" },
  not_found: { status: 404, title: "Not Found" },
  conflict: { status: 409, title: "Conflict" },
  in_progress: { status: 409, title: "Conflict" },
  too_many_requests: { status: 429, title: "Too Many Requests" },
  precondition_failed: { status: 412, title: "Precondition Failed" },
  unprocessable: { status: 422, title: "Unprocessable Content" },
  unavailable: { status: 503, title: "Service Unavailable" },
  internal: { status: 500, title: "Internal Server Error" },
};

const REALM = "cqrs-ts";

/** A domain error whose answer carries headers of its own (a challenge, a wait). */
export class ProblemWithHeaders extends DomainError {
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, headers: Record<string, string>) {
    super(code, message);
    this.headers = headers;
  }
}

/** A 401 whose WWW-Authenticate header is the bearer challenge (RFC 6750). */
export class AuthenticationError extends ProblemWithHeaders {
  constructor(message: string, error?: "invalid_request" | "invalid_token") {
    const quoted = message.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
    // Without credentials, the challenge names no error (RFC 6750, section 3.1).
    super("unauthenticated", message, {
      "www-authenticate": error
        ? `Bearer realm="${REALM}", error="${error}", error_description="${quoted}"`
        : `Bearer realm="${REALM}"`,
    });
  }

  get challenge(): string {
    return this.headers["www-authenticate"] ?? "";
  }
}

/** Seconds a client should wait before retrying a 503 or an in-progress 409. */
export const RETRY_AFTER_SECONDS = 1;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

export function problemFor(error: DomainError): Problem {
  const { status, title } = HTTP[error.code];
  return {
    type: `https://cqrs-ts.dev/problems/${error.code.replaceAll("_", "-")}`,
    title,
    status,
    detail: error.message,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

/**
 * What every gateway answer carries: no content sniffing, no framing, no referrer, same-origin
 * resources. The gateway sets them before each handler (Hono adds them to the answers it builds);
 * a problem, built here, carries them itself.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
};

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  const retry = problem.status === 503 || problem.type.endsWith("/in-progress");
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: {
      ...SECURITY_HEADERS,
      "content-type": "application/problem+json",
      ...(retry ? { "retry-after": String(RETRY_AFTER_SECONDS) } : {}),
      ...headers,
    },
  });
}

/** Hono's onError: the one mapper from anything thrown to problem+json. */
export function errorHandler(log: (entry: Record<string, unknown>) => void) {
  return function onError(error: Error, c: Context): Response {
    if (error instanceof DomainError) {
      if (error.code === "internal")
        log({ level: "error", msg: "internal error", path: c.req.path, err: error.message });
      return problemResponse(problemFor(error), error instanceof ProblemWithHeaders ? error.headers : {});
    }
    if (error instanceof HTTPException) {
      const status = error.status;
      return problemResponse({
        type: "about:blank",
        title: error.message || "Error",
        status,
        detail: error.message || `HTTP ${status}`,
      });
    }
    log({ level: "error", msg: "unhandled error", path: c.req.path, err: error });
    return problemResponse(problemFor(new DomainError("internal", "internal error")));
  };
}
