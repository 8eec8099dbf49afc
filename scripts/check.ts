// `npm run check`: the linter and formatter (biome) and the type checker, both must be clean.
import { spawnSync } from "node:child_process";

const steps: [string, string[]][] = [
  ["biome", ["check", "."]],
  ["tsc", ["-p", "."]],
];
for (const [tool, args] of steps) {
  console.log(`> ${tool} ${args.join(" ")}`);
  const result = spawnSync("npx", ["--no-install", tool, ...args], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
