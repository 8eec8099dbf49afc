// `npm run fuzz [-- --seconds 600] [--seed N] [--url URL]`: schemathesis against the gateway's own
// OpenAPI document (scripts/fuzz/schemathesis.ts), every check and phase, as a caller with every
// role: against a system of its own (isolated databases and topics on the local stack, brought up
// first), or a running gateway given by --url. A random seed unless --seed; the summary is printed
// and the JUnit report kept under .local/fuzz/. Exit 1 on any failure.
import path from "node:path";
import { up } from "#infra/stack.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { adminHeaders } from "#tests/support/auth.ts";
import { startSystem } from "#tests/support/system.ts";
import { parseCommandLine, runMain } from "./command-line.ts";
import { runSchemathesis } from "./fuzz/schemathesis.ts";

const USAGE = `usage: npm run fuzz [-- --seconds 600] [--seed N] [--url URL]
  schemathesis against the gateway's OpenAPI document: every check, every phase, as a caller with
  every role (a token from the local issuer)
  --seconds  time budget (default 600)
  --seed     the run's seed (default random; printed, so a failure can be replayed)
  --url      a running gateway to fuzz (default: a system of its own on the local stack)`;

const say = (line: string) => console.log(`[fuzz] ${line}`);

async function main(): Promise<number> {
  const { values } = parseCommandLine("fuzz", USAGE, {
    options: {
      seconds: { type: "string", default: "600" },
      seed: { type: "string" },
      url: { type: "string" },
    },
  });
  const seconds = Number(values.seconds);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seconds) || seconds < 1 || !Number.isInteger(seed) || seed < 0) {
    console.error("fuzz: --seconds and --seed are whole numbers (--help shows the usage)");
    return 2;
  }
  const config = loadConfig();
  let url = values.url;
  let stop = async () => {};
  if (url === undefined) {
    say("bringing up the local stack");
    await up(config, ["postgres", "postgres-read", "redis", "kafka", "ferretdb"], (line) => say(line));
    const system = await startSystem(`fuzz${Date.now().toString(36)}`);
    url = system.url;
    stop = system.stop;
    say(`a system of its own at ${url}`);
  }
  try {
    const { code, output } = await runSchemathesis({
      url,
      authorization: (await adminHeaders()).authorization ?? "",
      seed,
      maxSeconds: seconds,
      reportDir: path.join(config.stateDir, "fuzz"),
      cacheDir: config.cacheDir,
      say,
    });
    console.log(output);
    say(`seed ${seed}: schemathesis exited ${code}`);
    return code === 0 ? 0 : 1;
  } finally {
    await stop();
  }
}

runMain("fuzz", main);
