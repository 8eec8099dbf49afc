// The one error type that crosses every boundary. A function throws it with a code; the gRPC shim
// maps the code to a status (grpc-status.ts) and the gateway maps it to HTTP (problem.ts).
export type ErrorCode =
  | "invalid_input"
  | "unauthenticated"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "precondition_failed"
  | "unprocessable"
  | "in_progress"
  | "too_many_requests"
  | "unavailable"
  | "internal";

export interface FieldError {
  path: string;
  message: string;
}

export class DomainError extends Error {
  override name = "DomainError";
  readonly code: ErrorCode;
  readonly errors: FieldError[] | undefined;

  constructor(code: ErrorCode, message: string, errors?: FieldError[]) {
    super(message);
    this.code = code;
    this.errors = errors;
  }
}

export const invalidInput = (message: string, errors?: FieldError[]) =>
  new DomainError("invalid_input", message, errors);
export const notFound = (message: string) => new DomainError("not_found", message);
export const conflict = (message: string, errors?: FieldError[]) => new DomainError("conflict", message, errors);
export const preconditionFailed = (message: string) => new DomainError("precondition_failed", message);
export const unavailable = (message: string) => new DomainError("unavailable", message);
