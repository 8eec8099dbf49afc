import assert from "node:assert/strict";
import { test } from "node:test";
import { singleFlight } from "./single-flight.ts";

test("concurrent calls with one key share one run; other keys and later calls run their own", async () => {
  const flights = singleFlight<number>();
  let runs = 0;
  let release: (value: number) => void = () => {};
  const work = () => {
    runs++;
    return new Promise<number>((resolve) => {
      release = resolve;
    });
  };
  const joined = [flights("a", work), flights("a", work), flights("a", work)];
  assert.equal(runs, 1);
  release(7);
  assert.deepEqual(await Promise.all(joined), [7, 7, 7]);
  const other = flights("b", async () => 8);
  const later = flights("a", async () => 9);
  assert.deepEqual(await Promise.all([other, later]), [8, 9]);
});

test("a failed run rejects every caller that joined it, and the next call runs afresh", async () => {
  const flights = singleFlight<number>();
  const failing = () => Promise.reject(new Error("down"));
  const both = [flights("k", failing), flights("k", failing)];
  for (const call of both) await assert.rejects(call, /down/);
  assert.equal(await flights("k", async () => 1), 1);
});
