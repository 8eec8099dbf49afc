// Structured logs: one JSON object per line on stdout (pino), each carrying the trace_id and span_id
// of the span it was written under, so a log line leads to its trace and back. An error is logged as
// the error itself under `err` (never String(error)): its stack and causes come with it.
import { trace } from "@opentelemetry/api";
import pino from "pino";
import { ConfigError } from "./config.ts";

export type Log = (entry: Record<string, unknown>) => void;

type Level = "debug" | "info" | "warn" | "error" | "fatal";
const LEVELS = new Set<string>(["debug", "info", "warn", "error", "fatal"]);

/** LOG_LEVEL: the least severe level written (info unless set; debug adds each gRPC call answered OK). */
export function logLevel(env: Record<string, string | undefined> = process.env): Level {
  const raw = env.LOG_LEVEL;
  if (raw === undefined || raw === "") return "info";
  if (!LEVELS.has(raw)) throw new ConfigError(`LOG_LEVEL=${raw} is not one of ${[...LEVELS].join(", ")}`);
  return raw as Level;
}

export function createLog(service: string, write?: (line: string) => void, level: Level = logLevel()): Log {
  const logger = pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      // An error under `err` keeps its type, message, stack and its chain of causes.
      serializers: { err: pino.stdSerializers.errWithCause },
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const context = trace.getActiveSpan()?.spanContext();
        return context ? { trace_id: context.traceId, span_id: context.spanId } : {};
      },
    },
    // Asynchronous: a busy service writes its lines in chunks, not one write(2) per request. pino
    // flushes what is pending synchronously on exit, so a line written just before it is not lost.
    write ? { write } : pino.destination({ dest: 1, sync: false }),
  );
  return ({ level, msg, ...rest }) => {
    const method: Level = typeof level === "string" && LEVELS.has(level) ? (level as Level) : "info";
    logger[method](rest, typeof msg === "string" ? msg : "");
  };
}
