// proto/gen/ is committed so that nothing has to be generated before running or testing; this test
// keeps it from drifting from proto/. It runs what `npm run generate` runs (buf with buf.gen.yaml,
// ts-proto from node_modules; scripts/generate.ts formats nothing afterwards) into a temporary folder
// and compares the two trees byte for byte.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";

const root = path.resolve(import.meta.dirname, "..", "..");
const bin = path.join(root, "node_modules", ".bin");

/** The `out:` folders of buf.gen.yaml, so a stale file in one of them is seen even if buf writes nothing there. */
function outFolders(): string[] {
  const template = fs.readFileSync(path.join(root, "buf.gen.yaml"), "utf8");
  const folders = [...template.matchAll(/^\s*out:\s*["']?([^"'\s#]+)/gm)].flatMap((match) => match[1] ?? []);
  assert.ok(folders.length > 0, "buf.gen.yaml names no out: folder");
  return folders;
}

function filesUnder(folder: string): string[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
    .sort();
}

test("proto/gen/ is what `npm run generate` makes of proto/", (t) => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-generate-"));
  t.after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  // --output puts each plugin's out: folder under scratch; the plugin is a Node script, run by this Node.
  const PATH = [bin, path.dirname(process.execPath), process.env.PATH ?? ""].join(path.delimiter);
  const generated = spawnSync(path.join(bin, "buf"), ["generate", "--output", scratch], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, PATH },
  });
  assert.equal(generated.status, 0, `buf generate failed:\n${generated.stderr}${generated.error?.message ?? ""}`);

  const differences: string[] = [];
  for (const out of outFolders()) {
    const committed = filesUnder(path.join(root, out));
    const fresh = filesUnder(path.join(scratch, out));
    for (const file of new Set([...committed, ...fresh])) {
      const name = `${out}/${file}`;
      if (!fresh.includes(file)) differences.push(`${name}: present, but no longer generated`);
      else if (!committed.includes(file)) differences.push(`${name}: generated, but missing`);
      else if (!fs.readFileSync(path.join(root, out, file)).equals(fs.readFileSync(path.join(scratch, out, file)))) {
        differences.push(`${name}: differs from what is generated`);
      }
    }
  }
  if (differences.length > 0) {
    assert.fail(`the generated code is out of date; run \`npm run generate\`:\n  ${differences.sort().join("\n  ")}`);
  }
});
