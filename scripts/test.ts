// `npm test`: brings up the local stack, then runs every test with node:test in one run, unit
// first, then integration, then end to end. Test files find the stack through shared/platform/config.ts and
// isolate their data by CQRS_TEST_RUN_ID. Extra arguments narrow the run to files whose path
// contains one of them (e.g. `npm test -- products`). `npm run test:unit` (`--unit`) runs the unit
// tests alone, without provisioning or starting any server.

import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ensureCommand } from "#infra/apt.ts";
import { down, formatRow, up } from "#infra/stack.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { parseCommandLine } from "./command-line.ts";

const root = path.resolve(import.meta.dirname, "..");
const say = (line: string) => console.log(`[test] ${line}`);

const LAYERS = ["unit", "int", "e2e"] as const;

const HELP = `usage: npm test [-- [--unit] [FILTER...]]
       npm run test:unit [-- FILTER...]

  FILTER      only the test files whose path contains one of them (e.g. products)
  --unit      only the unit tests (*.unit.spec.ts): no server is provisioned or started
  -h, --help  this text`;

function testFiles(filters: string[], layers: readonly (typeof LAYERS)[number][]): string[] {
  const all = fs
    .globSync("**/*.spec.ts", { cwd: root, exclude: (name) => name === "node_modules" || name === ".local" })
    .sort();
  const layer = (file: string) => LAYERS.findIndex((name) => file.endsWith(`.${name}.spec.ts`));
  return all
    .filter((file) => layer(file) >= 0 && layers.includes(LAYERS[layer(file)] ?? "unit"))
    .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
    .sort((a, b) => layer(a) - layer(b) || a.localeCompare(b));
}

function runTests(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ["--test", "--test-concurrency=1", "--test-timeout=300000", "--test-reporter=spec", ...files],
      { cwd: root, stdio: "inherit", env },
    );
    child.on("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const { values, positionals: filters } = parseCommandLine("test", HELP, {
    options: { unit: { type: "boolean", default: false } },
    allowPositionals: true,
  });
  const files = testFiles(filters, values.unit ? ["unit"] : LAYERS);
  if (files.length === 0) {
    say(`no test file matches ${filters.join(" ")}`);
    return 1;
  }
  if (values.unit) {
    say(`running ${files.length} unit test files (no servers)`);
    return runTests(files, process.env);
  }
  // The docs page's and the bench report's tests drive Debian's Chromium (never a downloaded browser).
  const browserTests = ["docs-page.e2e.spec.ts", "report-page.int.spec.ts", "smoke.int.spec.ts"];
  if (files.some((file) => browserTests.some((name) => file.endsWith(name))))
    ensureCommand("chromium", "chromium", say);
  const config = loadConfig();
  say("bringing up the local stack");
  const rows = await up(
    config,
    [],
    (line) => console.log(`[infra] ${line}`),
    (row) => console.log(formatRow(row)),
  ).catch(async (error: unknown) => {
    // On CI nothing outlives the run, not even the servers of a stack that failed to come up.
    if (process.env.CI === "true") await down(config, [], say).catch(() => {});
    throw error;
  });
  const startedHere = rows.filter((row) => row.state === "started").map((row) => row.name);

  const runId = process.env.CQRS_TEST_RUN_ID ?? `r${Date.now().toString(36)}${process.pid.toString(36)}`;
  say(`running ${files.length} test files (run id ${runId})`);
  const code = await runTests(files, { ...process.env, CQRS_TEST_RUN_ID: runId });

  // On CI nothing outlives the run; on a developer's machine the stack stays up for the next run.
  if (process.env.CI === "true" && startedHere.length > 0) {
    say(`stopping the servers this run started: ${startedHere.join(", ")}`);
    await down(config, startedHere, say);
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`test: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
