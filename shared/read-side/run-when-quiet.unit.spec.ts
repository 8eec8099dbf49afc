// The recount's scheduling: once per pause in the pokes, at most `maxWaitMs` after the first poke
// it serves when they never pause, never two runs at once, and retried when the work asks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually } from "#tests/support/wait.ts";
import { type RunOutcome, runWhenQuiet } from "./run-when-quiet.ts";

/** Pokes `runner` every 5 ms for `ms`; when the last poke was. */
async function pokeFor(runner: { poke(): void }, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let last = 0;
  while (Date.now() < until) {
    runner.poke();
    last = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return last;
}

function counting(outcomes: RunOutcome[] = []) {
  const state = { runs: 0, running: 0, mostAtOnce: 0, starts: [] as number[] };
  const run = async (): Promise<RunOutcome> => {
    state.runs++;
    state.starts.push(Date.now());
    state.running++;
    state.mostAtOnce = Math.max(state.mostAtOnce, state.running);
    await new Promise((resolve) => setTimeout(resolve, 30));
    state.running--;
    return outcomes.shift() ?? "done";
  };
  return { state, run };
}

test("a burst of pokes makes one run, after the pause", async () => {
  const { state, run } = counting();
  const runner = runWhenQuiet({ quietMs: 200, maxWaitMs: 10_000, retryMs: 10, run });
  await pokeFor(runner, 300);
  assert.equal(state.runs, 0, "no run while the pokes go on (the longest wait is far)");
  await eventually("the run after the pause", async () => (state.runs === 1 ? true : undefined));
  assert.equal(state.runs, 1);
});

test("pokes that never pause still get runs, one at a time, and a last one after them", async () => {
  const { state, run } = counting();
  const runner = runWhenQuiet({ quietMs: 200, maxWaitMs: 100, retryMs: 10, run });
  const lastPoke = await pokeFor(runner, 1000);
  const during = state.starts.filter((at) => at < lastPoke).length;
  assert.ok(during >= 2, `runs while the pokes went on: ${during}`);
  await eventually("a run that started after the last poke", async () =>
    state.starts.some((at) => at >= lastPoke) && state.running === 0 ? true : undefined,
  );
  assert.equal(state.mostAtOnce, 1);
});

test("work that asks to be retried runs again without another poke", async () => {
  const { state, run } = counting(["retry", "retry"]);
  const runner = runWhenQuiet({ quietMs: 10, maxWaitMs: 1000, retryMs: 10, run });
  runner.poke();
  await eventually("two retries", async () => (state.runs === 3 && state.running === 0 ? true : undefined));
});
