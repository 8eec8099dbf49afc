// Gives a burst's memory back once the process is idle again. Under load V8 grows the old
// generation several times over what is live (its growing factor goes up to 4 on a machine with
// gigabytes of memory) and, after the load, keeps the freed pages in its pool: a reader that served
// 32 connections of cached reads sat at 380 MB of RSS with 40 MB live, for as long as it idled.
// V8's own memory reducer did not give them back (the services never stop polling, logging and
// exporting long enough to look idle to it). So each service checks its event loop every
// `checkMs`: once its resident memory has grown by `growthMiB` since the last trim (the first time:
// since nothing) and a whole window was idle (utilization below `idleBelow`), it runs one
// last-resort major GC, which compacts the heap, shrinks the young generation and releases the
// pooled pages. Then it asks glibc to give back what native code freed (releaseFreedNative): after
// the same burst the reader still sat at 270-310 MB with a 36 MB heap, nearly all of it memory
// that http2, sockets and buffers had freed but malloc kept in its arenas; glibc returns only the
// top of an arena by itself, and malloc_trim(0) took it to 133 MB. It runs only when idle and at
// most once per burst; without --expose-gc (NODE_FLAGS) it does nothing.
import { performance } from "node:perf_hooks";
import type { Log } from "./log.ts";
import { releaseFreedNative } from "./native-memory.ts";

const MiB = 1024 * 1024;

export interface MemoryTrimOptions {
  checkMs: number;
  /** Event-loop utilization (0..1) below which a window counts as idle. */
  idleBelow: number;
  /** Growth of the resident memory since the last trim worth another one. */
  growthMiB: number;
  log: Log;
}

type Gc = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

export function startMemoryTrim(options: MemoryTrimOptions): { stop(): void } {
  const gc = (globalThis as { gc?: Gc }).gc;
  if (typeof gc !== "function") return { stop() {} };
  // Nothing trimmed yet: the first idle window after the start trims what starting up left.
  let floor = 0;
  let peak = process.memoryUsage.rss();
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const rss = process.memoryUsage.rss();
    peak = Math.max(peak, rss);
    if (utilization >= options.idleBelow || peak - floor < options.growthMiB * MiB) return;
    const started = performance.now();
    gc({ type: "major", execution: "sync", flavor: "last-resort" });
    releaseFreedNative();
    floor = process.memoryUsage.rss();
    peak = floor;
    last = performance.eventLoopUtilization();
    options.log({
      msg: "memory trimmed",
      rss_before_mib: Math.round(rss / MiB),
      rss_after_mib: Math.round(floor / MiB),
      duration_ms: Math.round(performance.now() - started),
    });
  }, options.checkMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
