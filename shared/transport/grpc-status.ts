// Domain error codes <-> gRPC status codes, in one place. Field errors travel in binary metadata.
import * as grpc from "@grpc/grpc-js";
import { DomainError, type ErrorCode, type FieldError } from "../platform/errors.ts";

const TO_STATUS: Record<ErrorCode, grpc.status> = {
  invalid_input: grpc.status.INVALID_ARGUMENT,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  forbidden: grpc.status.PERMISSION_DENIED,
  not_found: grpc.status.NOT_FOUND,
  conflict: grpc.status.ALREADY_EXISTS,
  precondition_failed: grpc.status.FAILED_PRECONDITION,
  unprocessable: grpc.status.FAILED_PRECONDITION,
  in_progress: grpc.status.ABORTED,
  too_many_requests: grpc.status.RESOURCE_EXHAUSTED,
  unavailable: grpc.status.UNAVAILABLE,
  internal: grpc.status.INTERNAL,
};

const FIELD_ERRORS_KEY = "field-errors-bin";
/** Several codes share a status (e.g. FAILED_PRECONDITION); the exact code rides along. */
const DOMAIN_CODE_KEY = "domain-code";

export function toServiceError(error: DomainError): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (error.errors) metadata.set(FIELD_ERRORS_KEY, Buffer.from(JSON.stringify(error.errors)));
  metadata.set(DOMAIN_CODE_KEY, error.code);
  return { code: TO_STATUS[error.code], details: error.message, metadata };
}

function readFieldErrors(metadata: grpc.Metadata | undefined): FieldError[] | undefined {
  const [raw] = metadata?.get(FIELD_ERRORS_KEY) ?? [];
  if (!Buffer.isBuffer(raw)) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw.toString("utf8"));
    return Array.isArray(parsed) ? (parsed as FieldError[]) : undefined;
  } catch {
    return undefined;
  }
}

/** A failed call as the domain error it stands for; transport failures become `unavailable`. */
export function fromServiceError(error: grpc.ServiceError): DomainError {
  const details = error.details || error.message;
  const [sent] = error.metadata?.get(DOMAIN_CODE_KEY) ?? [];
  if (typeof sent === "string" && sent in TO_STATUS && TO_STATUS[sent as ErrorCode] === error.code) {
    return new DomainError(sent as ErrorCode, details, readFieldErrors(error.metadata));
  }
  switch (error.code) {
    case grpc.status.INVALID_ARGUMENT:
      return new DomainError("invalid_input", details, readFieldErrors(error.metadata));
    case grpc.status.NOT_FOUND:
      return new DomainError("not_found", details);
    case grpc.status.ALREADY_EXISTS:
      return new DomainError("conflict", details, readFieldErrors(error.metadata));
    case grpc.status.FAILED_PRECONDITION:
      return new DomainError("precondition_failed", details);
    case grpc.status.ABORTED:
      return new DomainError("in_progress", details);
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
    case grpc.status.CANCELLED:
    case grpc.status.RESOURCE_EXHAUSTED:
      return new DomainError("unavailable", details);
    default:
      return new DomainError("internal", details);
  }
}
