// Every command-line script answers `--help` (and `-h`) with its usage and exit 0, and an option it
// does not know with one line and exit 2, before it provisions or connects to anything. Each runs
// with POSTGRES_PORT=0, which loadConfig refuses: a script that read its configuration before its
// arguments would exit 1 here instead of reaching a server or starting a build.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";

const root = path.resolve(import.meta.dirname, "../..");

/** The scripts and how their usage begins. */
const SCRIPTS: [string, string][] = [
  ["scripts/test.ts", "usage: npm test"],
  ["scripts/bench.ts", "usage: npm run bench"],
  ["scripts/bundle.ts", "usage: npm run bundle"],
  ["scripts/check.ts", "usage: npm run check"],
  ["scripts/generate.ts", "usage: npm run generate"],
  ["scripts/start.ts", "usage: npm start"],
  ["scripts/invoke.ts", "usage: npm run invoke -- <Function> '<json input>'"],
  ["scripts/trace.ts", "usage: npm run trace -- <trace-id>"],
  ["scripts/dlq.ts", "usage: npm run dlq -- list [TOPIC]"],
  ["scripts/soak.ts", "usage: npm run soak"],
  ["scripts/test-faults.ts", "usage: npm run test:faults"],
  ["infra/cli.ts", "usage: npm run infra -- <command> [server...]"],
];

function run(script: string, ...args: string[]) {
  const result = spawnSync(process.execPath, [script, ...args], {
    cwd: root,
    env: { ...process.env, POSTGRES_PORT: "0" },
    encoding: "utf8",
    // A script that started working instead of answering is stopped, and fails below.
    timeout: 30_000,
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

describe("command-line scripts", () => {
  for (const [script, usage] of SCRIPTS) {
    describe(script, () => {
      it("prints its usage for --help and -h, and exits 0", () => {
        const help = run(script, "--help");
        assert.deepEqual(
          { code: help.code, signal: help.signal, stderr: help.stderr },
          {
            code: 0,
            signal: null,
            stderr: "",
          },
        );
        assert.ok(help.stdout.startsWith(usage), `${script} --help printed:\n${help.stdout}`);
        assert.equal(run(script, "-h").stdout, help.stdout);
      });

      it("refuses an unknown option in one line, with exit 2", () => {
        const wrong = run(script, "--no-such-option");
        assert.equal(wrong.code, 2, `${script} --no-such-option: ${wrong.stderr}`);
        assert.equal(wrong.stdout, "");
        assert.match(wrong.stderr, /^[a-z:]+: unknown option '--no-such-option' \(--help shows the usage\)\n$/);
      });
    });
  }
});
