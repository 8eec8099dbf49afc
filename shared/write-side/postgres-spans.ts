// Client spans for PostgreSQL, following the database semantic conventions. The `postgres` driver
// has no instrumentation maintained by the OpenTelemetry project (and the community ones patch a
// different driver), so this wraps the client drizzle uses: one span per statement, nested under
// one span per transaction. Parameters are never recorded, only the parametrised text.
import { type Attributes, context, SpanKind, trace } from "@opentelemetry/api";
import type postgres from "postgres";
import { endWhenSettled, markFailed } from "../platform/telemetry/span-errors.ts";

const tracer = trace.getTracer("cqrs-ts/postgres");

type Sql = postgres.Sql | postgres.TransactionSql;

/**
 * What a statement does, as the database conventions name it: the operation (its first keyword),
 * the table it works on, and the low-cardinality summary that is also the span's name
 * (`insert products`, `select outbox`).
 */
export function statementAttributes(query: string): Attributes {
  const verb = /^\s*(\w+)/.exec(query)?.[1]?.toLowerCase() ?? "query";
  const table = /\b(?:from|into|update|join)\s+"?(\w+)"?/i.exec(query)?.[1];
  return {
    "db.operation.name": verb,
    ...(table ? { "db.collection.name": table } : {}),
    "db.query.summary": table ? `${verb} ${table}` : verb,
  };
}

function traceQuery<Q extends PromiseLike<unknown>>(pending: Q, query: string, attributes: Attributes): Q {
  const proxy: Q = new Proxy(pending, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property === "then") {
        // The driver sends the query when it is awaited: that is when the span starts.
        return (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) => {
          const statement = statementAttributes(query);
          const span = tracer.startSpan(
            String(statement["db.query.summary"]),
            { kind: SpanKind.CLIENT, attributes: { ...attributes, ...statement, "db.query.text": query } },
            context.active(),
          );
          return endWhenSettled(span, target).then(onFulfilled, onRejected);
        };
      }
      if (property === "values" || property === "raw") {
        // These switch the result mode and return the same query: keep returning the traced one.
        return () => {
          (value as () => unknown).call(target);
          return proxy;
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return proxy;
}

function inTransactionSpan<T>(name: string, attributes: Attributes, run: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await run();
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** `sql` with a span around every statement and transaction (as drizzle uses it: unsafe, begin, savepoint). */
export function tracedSql<S extends Sql>(sql: S, url: string): S {
  const target = new URL(url);
  const attributes: Attributes = {
    "db.system.name": "postgresql",
    "db.namespace": decodeURIComponent(target.pathname.slice(1)),
    "server.address": target.hostname,
    "server.port": Number(target.port || 5432),
  };
  return new Proxy(sql, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== "function") return value;
      if (property === "unsafe") {
        return (query: string, ...rest: unknown[]) =>
          traceQuery(
            (value as (...a: unknown[]) => PromiseLike<unknown>).call(object, query, ...rest),
            query,
            attributes,
          );
      }
      if (property === "begin" || property === "savepoint") {
        return (...args: unknown[]) => {
          const work = args.at(-1) as (tx: postgres.TransactionSql) => Promise<unknown>;
          const wrapped = (tx: postgres.TransactionSql) =>
            inTransactionSpan(property === "begin" ? "transaction" : "savepoint", attributes, () =>
              work(tracedSql(tx, url)),
            );
          return (value as (...a: unknown[]) => unknown).call(object, ...args.slice(0, -1), wrapped);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(object);
    },
  });
}
