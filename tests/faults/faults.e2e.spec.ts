// The fault suite's short variant (npm test): every fault once, held briefly, under three clients,
// on a stack of its own. `npm run test:faults` is the whole suite; tests/faults/suite.ts says what
// each fault does and what is checked.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTable, runFaultSuite } from "./suite.ts";

test("every fault once under load: nothing lost, nothing divergent, in order, nothing back in time, no 500", async () => {
  const result = await runFaultSuite({
    holdMs: 1000,
    clients: 3,
    convergeMs: 60_000,
    say: (line) => console.log(`[faults] ${line}`),
  });
  const table = formatTable(result);
  console.log(table.join("\n"));
  console.log(`the fault suite took ${result.seconds.toFixed(0)} s`);
  assert.deepEqual(result.failures, []);
  assert.equal(result.rows.length, 16, "every fault ran");
  for (const row of result.rows) {
    assert.equal(row.lost, 0, `${row.fault}: lost`);
    assert.equal(row.divergent, 0, `${row.fault}: divergent`);
    assert.notEqual(row.convergeSeconds, undefined, `${row.fault}: did not converge`);
  }
  assert.ok(
    result.rows.reduce((sum, row) => sum + row.acknowledged, 0) > 100,
    "the clients kept commanding through the faults",
  );
});
