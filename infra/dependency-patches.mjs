// Fixes to installed dependencies whose maintainers have not released them yet, applied to
// node_modules after every install: by the bootstrap (infra/dependencies.mjs) and by the Dockerfile.
// Each names the package and the exact version it was written for, the text it replaces and why.
// When the installed version is another, or the text is not there, the install stops with one line
// saying so: a new release may have the fix, and the patch should then go.
//
// Plain JavaScript: it runs on whatever Node the machine has, like the bootstrap that calls it.
// `node infra/dependency-patches.mjs [root]` applies them (what the Dockerfile runs).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MARK = "/* cqrs-ts patch */";

/**
 * postgres.js 3.4.9 (porsager/postgres#1066, #1154, #1208; fixes proposed in #1168, #1176, #1209):
 * a write under 1024 bytes is flushed by a setImmediate; when the connection closes first (its
 * PostgreSQL killed under it: the fault suite's "kill postgres"), the flush writes to a null socket
 * and throws from the immediate, where nothing can catch it: the writer died. And both teardown
 * paths cancel the flush without forgetting it, so the reconnected socket never flushes a small
 * write again and its queries hang. The fix: a flush without a socket settles the pending queries
 * with CONNECTION_CLOSED, and teardown drops the pending flush and its bytes.
 */
const POSTGRES_FLUSH = {
  before: "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
  after:
    `  function nextWrite(fn) {\n    if (socket === null) { ${MARK}\n` +
    "      nextWriteTimer !== null && clearImmediate(nextWriteTimer)\n" +
    "      chunk = nextWriteTimer = null\n" +
    "      error(Errors.connection('CONNECTION_CLOSED', options))\n" +
    "      return false\n" +
    "    }\n" +
    "    const x = socket.write(chunk, fn)",
};
const POSTGRES_TEARDOWN = {
  before: "    clearImmediate(nextWriteTimer)\n",
  after: `    clearImmediate(nextWriteTimer), nextWriteTimer = chunk = null ${MARK}\n`,
  count: 2,
};

export const PATCHES = [
  {
    name: "postgres",
    version: "3.4.9",
    files: ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"],
    edits: [POSTGRES_FLUSH, POSTGRES_TEARDOWN],
  },
];

export class PatchError extends Error {}

/** Applies `edits` to `text`, each unless it was applied before; returns the new text. */
export function patchText(text, edits, where) {
  let result = text;
  for (const { before, after, count = 1 } of edits) {
    if (result.split(after).length - 1 === count) continue;
    const found = result.split(before).length - 1;
    if (found !== count) {
      throw new PatchError(`${where}: expected ${count} of the text to patch, found ${found}`);
    }
    result = result.split(before).join(after);
  }
  return result;
}

/** Applies every patch under `root`/node_modules; returns what was patched, one line each. */
export function applyDependencyPatches(root) {
  const done = [];
  for (const patch of PATCHES) {
    const dir = path.join(root, "node_modules", patch.name);
    const { version } = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    if (version !== patch.version) {
      throw new PatchError(
        `${patch.name} is ${version}, its patch in infra/dependency-patches.mjs was written for ${patch.version}: check whether ${version} fixed it, then update or remove the patch`,
      );
    }
    for (const file of patch.files) {
      const full = path.join(dir, file);
      const text = fs.readFileSync(full, "utf8");
      const patched = patchText(text, patch.edits, `${patch.name}/${file}`);
      if (patched !== text) fs.writeFileSync(full, patched);
    }
    done.push(`${patch.name} ${patch.version}`);
  }
  return done;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const done = applyDependencyPatches(path.resolve(process.argv[2] ?? "."));
    console.log(`patched: ${done.join(", ")}`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
