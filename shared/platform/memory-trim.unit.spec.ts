// The idle memory trim, in a process of its own run with the services' V8 flags: a burst of
// garbage grows the heap (or malloc's arenas), the process goes idle, and the trim gives the memory
// back once, not again while it stays idle; without --expose-gc it does nothing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { NODE_FLAGS } from "#services/launch.ts";
import { canReleaseFreedNative } from "./native-memory.ts";

const trimModule = path.join(import.meta.dirname, "memory-trim.ts");

const BURSTS = {
  // About 150 MB of objects, kept a few rounds at a time so they reach the old generation.
  objects: `
    let keep = [];
    for (let round = 0; round < 20; round++) {
      keep.push(Array.from({ length: 200_000 }, (_, i) => ({ i, s: "x" + i })));
      if (keep.length > 3) keep.shift();
    }
    keep = [];
  `,
  // About 190 MB of buffers malloc serves from its heap (16 KiB each, under its mmap threshold), of
  // which one in a hundred stays, the last among them: freed holes under live chunks, and no free
  // top for malloc to give back by itself.
  native: `
    let buffers = Array.from({ length: 12_000 }, () => Buffer.allocUnsafeSlow(16_384));
    globalThis.kept = buffers.filter((_, i) => i % 100 === 99);
    buffers = [];
  `,
};

/** A process that allocates a burst, then idles for `idleWindows` check windows; its log lines. */
function run(
  flags: string[],
  idleWindows: number,
  burst: keyof typeof BURSTS = "objects",
): Promise<Record<string, unknown>[]> {
  const script = `
    import { startMemoryTrim } from ${JSON.stringify(trimModule)};
    const lines = [];
    startMemoryTrim({ checkMs: 100, idleBelow: 0.05, growthMiB: 32, log: (entry) => lines.push(entry) });
    ${BURSTS[burst]}
    lines.push({ msg: "burst over", rss_mib: Math.round(process.memoryUsage.rss() / 1048576) });
    // Idle: nothing but a timer, for the given number of check windows.
    let windows = 0;
    const idle = setInterval(() => {
      if (++windows < ${idleWindows}) return;
      clearInterval(idle);
      process.stdout.write(JSON.stringify(lines));
    }, 100);
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exited ${code}`))));
  });
}

async function trimmedOnce(burst: keyof typeof BURSTS): Promise<void> {
  const lines = await run(NODE_FLAGS, 20, burst);
  const over = lines.find((line) => line.msg === "burst over");
  const trims = lines.filter((line) => line.msg === "memory trimmed");
  assert.ok(over, JSON.stringify(lines));
  assert.equal(trims.length, 1, `one trim for one burst, however long the idle: ${JSON.stringify(lines)}`);
  const [trim] = trims;
  const before = Number(trim?.rss_before_mib);
  const after = Number(trim?.rss_after_mib);
  assert.ok(before >= 100, `the burst grew the process: ${JSON.stringify(trim)}`);
  assert.ok(after < before * 0.6, `the trim gave most of it back: ${JSON.stringify(trim)}`);
}

test("a burst's memory is given back once the process is idle, once", async () => {
  assert.ok(NODE_FLAGS.includes("--expose-gc"), "the services run with --expose-gc");
  await trimmedOnce("objects");
});

test("memory native code freed is given back too, not kept in malloc's arenas", async () => {
  assert.ok(canReleaseFreedNative, "this machine's libc has malloc_trim (glibc), and koffi loads it");
  await trimmedOnce("native");
});

test("without --expose-gc the trim does nothing", async () => {
  const flags = NODE_FLAGS.filter((flag) => flag !== "--expose-gc");
  const lines = await run(flags, 10);
  assert.deepEqual(
    lines.filter((line) => line.msg === "memory trimmed"),
    [],
  );
  assert.ok(lines.some((line) => line.msg === "burst over"));
});
