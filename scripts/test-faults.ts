// `npm run test:faults`: the whole fault suite (tests/faults/suite.ts) on a throwaway stack of its
// own: every fault, held for --hold seconds under --clients clients, then the table and the verdict.
// npm test runs the short variant (tests/faults/faults.e2e.spec.ts).
import { formatTable, runFaultSuite } from "#tests/faults/suite.ts";
import { parseCommandLine } from "./command-line.ts";

const HELP = `usage: npm run test:faults [-- [--hold S] [--clients N] [--only TEXT]...]

  every fault (kill, freeze, crash point) in turn under load, on a stack of its own; then checks that
  nothing was lost or diverged, order held, no read went back in time, nothing answered 500

  --hold S       how long each fault lasts, in seconds (default 8)
  --clients N    concurrent clients (default 6)
  --only TEXT    only the faults whose name contains TEXT (repeatable), e.g. --only kafka
  -h, --help     this text`;

async function main(): Promise<number> {
  const { values } = parseCommandLine("test:faults", HELP, {
    options: {
      hold: { type: "string", default: "8" },
      clients: { type: "string", default: "6" },
      only: { type: "string", multiple: true },
    },
  });
  const hold = Number(values.hold);
  const clients = Number(values.clients);
  if (!(hold > 0 && hold <= 600) || !Number.isInteger(clients) || clients < 1 || clients > 64) {
    console.error("test:faults: --hold takes seconds from 0 to 600, --clients a whole number from 1 to 64");
    return 2;
  }
  const result = await runFaultSuite({
    holdMs: hold * 1000,
    clients,
    convergeMs: 120_000,
    only: values.only,
    say: (line) => console.log(`[faults] ${line}`),
  });
  console.log("");
  for (const line of formatTable(result)) console.log(line);
  console.log("");
  console.log(`the fault suite took ${result.seconds.toFixed(0)} s`);
  if (result.failures.length === 0) {
    console.log("nothing lost, nothing divergent, in order, no read back in time, no 500");
    return 0;
  }
  console.log(`${result.failures.length} broken promises:`);
  for (const failure of result.failures.slice(0, 50)) console.log(`  ${failure}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`test:faults: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
