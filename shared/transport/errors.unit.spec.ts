// Every ErrorCode across both boundaries: DomainError <-> gRPC status (grpc-status.ts) and -> HTTP (problem.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { DomainError, type ErrorCode, type FieldError } from "../platform/errors.ts";
import { fromServiceError, toServiceError } from "./grpc-status.ts";
import { problemFor, problemResponse } from "./problem.ts";

interface Row {
  grpc: grpc.status;
  http: number;
  retryAfter: boolean;
}

// A Record over ErrorCode: a new code without a row fails the type check.
const TABLE: Record<ErrorCode, Row> = {
  invalid_input: { grpc: grpc.status.INVALID_ARGUMENT, http: 400, retryAfter: false },
  unauthenticated: { grpc: grpc.status.UNAUTHENTICATED, http: 401, retryAfter: false },
  forbidden: { grpc: grpc.status.PERMISSION_DENIED, http: 403, retryAfter: false },
  not_found: { grpc: grpc.status.NOT_FOUND, http: 404, retryAfter: false },
  conflict: { grpc: grpc.status.ALREADY_EXISTS, http: 409, retryAfter: false },
  precondition_failed: { grpc: grpc.status.FAILED_PRECONDITION, http: 412, retryAfter: false },
  unprocessable: { grpc: grpc.status.FAILED_PRECONDITION, http: 422, retryAfter: false },
  in_progress: { grpc: grpc.status.ABORTED, http: 409, retryAfter: true },
  too_many_requests: { grpc: grpc.status.RESOURCE_EXHAUSTED, http: 429, retryAfter: false },
  unavailable: { grpc: grpc.status.UNAVAILABLE, http: 503, retryAfter: true },
  internal: { grpc: grpc.status.INTERNAL, http: 500, retryAfter: false },
};

const FIELD_ERRORS: FieldError[] = [
  { path: "sku", message: "sku is taken" },
  { path: "tags.0", message: "ünïcode survives the bytes" },
];

/** What a grpc-js client hands its callback for a failed call. */
function serviceError(code: grpc.status, details: string, metadata: grpc.Metadata): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata });
}

test("every ErrorCode maps to its gRPC status and back, and to its HTTP problem", async () => {
  for (const code of Object.keys(TABLE) as ErrorCode[]) {
    const row = TABLE[code];
    for (const errors of [FIELD_ERRORS, undefined]) {
      const label = `${code}${errors ? " with field errors" : ""}`;
      const message = `message for ${label}`;
      const original = new DomainError(code, message, errors);

      const status = toServiceError(original);
      assert.equal(status.code, row.grpc, `${label}: gRPC status`);
      assert.equal(status.details, message, `${label}: details`);
      assert.ok(status.metadata instanceof grpc.Metadata, `${label}: metadata`);
      assert.equal(status.metadata.get("field-errors-bin").length, errors ? 1 : 0, `${label}: field-errors-bin`);

      const back = fromServiceError(serviceError(row.grpc, message, status.metadata));
      assert.ok(back instanceof DomainError);
      assert.equal(back.code, code, `${label}: round trip`);
      assert.equal(back.message, message, `${label}: message round trip`);
      assert.deepEqual(back.errors, errors, `${label}: field errors round trip`);

      const problem = problemFor(original);
      assert.equal(problem.status, row.http, `${label}: HTTP status`);
      assert.equal(problem.detail, message, `${label}: detail`);
      assert.equal(problem.type, `https://cqrs-ts.dev/problems/${code.replaceAll("_", "-")}`, `${label}: type`);
      assert.ok(problem.title.length > 0, `${label}: title`);
      assert.deepEqual(problem.errors, errors, `${label}: problem errors`);

      const response = problemResponse(problem);
      assert.equal(response.status, row.http, `${label}: response status`);
      assert.equal(response.headers.get("content-type"), "application/problem+json", `${label}: content-type`);
      assert.equal(response.headers.get("retry-after"), row.retryAfter ? "1" : null, `${label}: Retry-After`);
      assert.deepEqual(await response.json(), JSON.parse(JSON.stringify(problem)), `${label}: body`);
    }
  }
});

test("transport failures map to unavailable", () => {
  for (const status of [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED]) {
    const error = fromServiceError(serviceError(status, "no connection established", new grpc.Metadata()));
    assert.equal(error.code, "unavailable", grpc.status[status]);
    assert.equal(error.message, "no connection established");
  }
});

test("an unknown status maps to internal", () => {
  for (const status of [grpc.status.UNKNOWN, grpc.status.UNIMPLEMENTED, grpc.status.DATA_LOSS, 99]) {
    assert.equal(fromServiceError(serviceError(status, "boom", new grpc.Metadata())).code, "internal", String(status));
  }
});

test("without details the error's message is kept", () => {
  const error = fromServiceError(serviceError(grpc.status.NOT_FOUND, "", new grpc.Metadata()));
  assert.equal(error.code, "not_found");
  assert.match(error.message, /NOT_FOUND/);
});

test("malformed field-errors-bin metadata is ignored, not thrown", () => {
  for (const raw of [Buffer.from("{not json"), Buffer.from('{"path":"x"}')]) {
    const metadata = new grpc.Metadata();
    metadata.set("field-errors-bin", raw);
    const error = fromServiceError(serviceError(grpc.status.INVALID_ARGUMENT, "bad", metadata));
    assert.equal(error.code, "invalid_input");
    assert.equal(error.errors, undefined);
  }
});

test("problemResponse lets extra headers through", () => {
  const response = problemResponse(problemFor(new DomainError("not_found", "gone")), { etag: '"3"' });
  assert.equal(response.headers.get("etag"), '"3"');
  assert.equal(response.headers.get("content-type"), "application/problem+json");
});

test("without the domain code in the metadata the status alone decides, field errors included", () => {
  const metadata = new grpc.Metadata();
  metadata.set("field-errors-bin", Buffer.from(JSON.stringify(FIELD_ERRORS)));
  const invalid = fromServiceError(serviceError(grpc.status.INVALID_ARGUMENT, "bad", metadata));
  assert.equal(invalid.code, "invalid_input");
  assert.deepEqual(invalid.errors, FIELD_ERRORS);
  const conflicting = fromServiceError(serviceError(grpc.status.ALREADY_EXISTS, "taken", metadata));
  assert.equal(conflicting.code, "conflict");
  assert.deepEqual(conflicting.errors, FIELD_ERRORS);
  assert.equal(fromServiceError(serviceError(grpc.status.ABORTED, "busy", new grpc.Metadata())).code, "in_progress");
});

test("a domain code in the metadata that disagrees with the status is ignored", () => {
  const metadata = toServiceError(new DomainError("not_found", "gone")).metadata ?? new grpc.Metadata();
  assert.equal(fromServiceError(serviceError(grpc.status.INTERNAL, "boom", metadata)).code, "internal");
  assert.equal(fromServiceError(serviceError(grpc.status.UNAVAILABLE, "down", metadata)).code, "unavailable");
});
