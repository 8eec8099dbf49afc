// `npm run generate`: regenerates proto/gen/ from proto/ with buf (the npm package ships its binary)
// and ts-proto. The generated files are committed, so nothing needs generating to run or test.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseCommandLine } from "./command-line.ts";

parseCommandLine(
  "generate",
  "usage: npm run generate    regenerate proto/gen/ from proto/ (buf lint, then buf generate)",
  {},
);

const root = path.resolve(import.meta.dirname, "..");
const bin = path.join(root, "node_modules", ".bin");
fs.rmSync(path.join(root, "proto", "gen"), { recursive: true, force: true });
for (const args of [["lint"], ["generate"]]) {
  console.log(`> buf ${args.join(" ")}`);
  const result = spawnSync(path.join(bin, "buf"), args, {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}` },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
console.log("generated proto/gen/");
