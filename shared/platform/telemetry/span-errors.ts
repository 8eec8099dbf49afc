// How every span of the project records a failure: the exception as an event, its class in
// `error.type` (the conventions' low-cardinality failure class) and its message as the status.
import { type Span, SpanStatusCode } from "@opentelemetry/api";

/** The class of a failure, as error.type wants it: the error's own type, else _OTHER. */
export const errorType = (error: unknown): string => (error instanceof Error ? error.constructor.name : "_OTHER");

export function markFailed(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setAttribute("error.type", errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Ends `span` when `pending` settles, marked failed if it rejects; settles as `pending` does. */
export function endWhenSettled<T>(span: Span, pending: PromiseLike<T>): Promise<T> {
  return Promise.resolve(pending).then(
    (result) => {
      span.end();
      return result;
    },
    (error: unknown) => {
      markFailed(span, error);
      span.end();
      throw error;
    },
  );
}
