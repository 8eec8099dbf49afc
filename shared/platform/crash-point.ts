// Crash points for the fault suite: CQRS_CRASH_AT=<name>[:<n>] makes the process kill itself
// (SIGKILL, nothing flushed, as a power cut would) the n-th time (default: the first) it passes the
// point of that name. The points sit in the windows a random kill rarely hits:
//   relay-after-publish         the relay, after Kafka's ack and before it marks the rows sent;
//   projection-after-write      the projection, after its read-model write and before the cache invalidation;
//   projection-before-commit    the projection, before it commits the batch's offset;
//   writer-before-reply         the writer, after a command committed and before it answers.
// Unset (always, outside the fault suite), each point costs one comparison.
const [armed, count] = (process.env.CQRS_CRASH_AT ?? "").split(":");
let remaining = Number(count ?? "1") || 1;

export type CrashPointName =
  | "relay-after-publish"
  | "projection-after-write"
  | "projection-before-commit"
  | "writer-before-reply";

export function crashPoint(name: CrashPointName): void {
  if (armed !== name) return;
  remaining -= 1;
  if (remaining > 0) return;
  process.stderr.write(`crash point ${name}: killing this process (CQRS_CRASH_AT)\n`);
  process.kill(process.pid, "SIGKILL");
}
