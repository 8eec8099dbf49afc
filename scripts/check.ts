// `npm run check`: the linter and formatter (biome), the type checker, and the architecture checks
// (import rules, generated code up to date); all must be clean.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { parseCommandLine } from "./command-line.ts";

parseCommandLine(
  "check",
  "usage: npm run check    biome, tsc and the architecture tests; exit 0 when all are clean",
  {},
);

const root = path.resolve(import.meta.dirname, "..");

const steps: [string, string, string[]][] = [
  ["biome", "npx", ["--no-install", "biome", "check", "."]],
  ["tsc", "npx", ["--no-install", "tsc", "-p", "."]],
  // The same files `npm test` runs among its unit tests, so a broken rule fails here without the stack.
  ["architecture", process.execPath, ["--test", "--test-reporter=spec", "tests/architecture/*.unit.spec.ts"]],
];
for (const [name, command, args] of steps) {
  console.log(`> ${name}: ${[command === process.execPath ? "node" : command, ...args].join(" ")}`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
