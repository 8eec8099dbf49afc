// Background work that a stream of writes asks for, run once per pause in them: each `poke` says
// "something changed"; the work starts once no poke came for `quietMs`, or `maxWaitMs` after the
// first poke it will serve if they never pause, and never twice at once (pokes during a run make
// one more run after it). Work that asks to be retried is poked again after `retryMs`.

export type RunOutcome = "done" | "retry";

export interface QuietRunner {
  poke(): void;
}

export interface QuietOptions {
  quietMs: number;
  maxWaitMs: number;
  retryMs: number;
  run: () => Promise<RunOutcome>;
}

export function runWhenQuiet({ quietMs, maxWaitMs, retryMs, run }: QuietOptions): QuietRunner {
  let running = false;
  /** The first and the last poke not yet served (ms); no first: nothing to serve. */
  let firstPoke: number | undefined;
  let lastPoke = 0;
  let timer: NodeJS.Timeout | undefined;

  const dueAt = (first: number) => Math.min(lastPoke + quietMs, first + maxWaitMs);

  function schedule(): void {
    if (running || timer !== undefined || firstPoke === undefined) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        if (firstPoke === undefined) return;
        // Poked again meanwhile: wait for the new pause (or the longest wait).
        if (Date.now() < dueAt(firstPoke)) return schedule();
        running = true;
        firstPoke = undefined;
        void run()
          .catch((): RunOutcome => "retry")
          .then((outcome) => {
            running = false;
            if (outcome === "retry") setTimeout(poke, retryMs).unref();
            // Pokes that came during this run wait their turn.
            else schedule();
          });
      },
      Math.max(0, dueAt(firstPoke) - Date.now()),
    );
    timer.unref();
  }

  function poke(): void {
    lastPoke = Date.now();
    firstPoke ??= lastPoke;
    schedule();
  }

  return { poke };
}
