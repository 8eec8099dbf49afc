// One schemathesis run against a gateway: its OpenAPI document, every check, every phase (the
// stateful one follows the document's links from a command to its read), as a caller with every
// role, with known false positives configured away in infra/schemathesis/schemathesis.toml (each
// with its reason) and never a check turned off for the whole API.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ensureSchemathesis } from "#infra/schemathesis.ts";

const CONFIG = path.resolve(import.meta.dirname, "../../infra/schemathesis/schemathesis.toml");
/** Hooks working around a schemathesis defect (a link's number sent as a header), with the reason. */
const HOOKS = path.resolve(import.meta.dirname, "../../infra/schemathesis/hooks.py");

export interface FuzzRun {
  /** The gateway's base URL. */
  url: string;
  /** An Authorization header's value, sent with every request. */
  authorization: string;
  seed: number;
  maxSeconds: number;
  reportDir: string;
  cacheDir: string;
  say: (line: string) => void;
}

/** Resolves with schemathesis's exit code and everything it printed. */
export async function runSchemathesis(run: FuzzRun): Promise<{ code: number | null; output: string }> {
  const executable = ensureSchemathesis(run.cacheDir, run.say);
  const args = [
    "--config-file",
    CONFIG,
    "--no-color",
    "run",
    `${run.url}/openapi.json`,
    "--url",
    run.url,
    "--checks",
    "all",
    "--phases",
    "examples,coverage,fuzzing,stateful",
    "--seed",
    String(run.seed),
    "--max-time",
    String(run.maxSeconds),
    "--workers",
    "1",
    "--header",
    `Authorization: ${run.authorization}`,
    "--report",
    "junit",
    "--report-dir",
    run.reportDir,
    "--output-truncate",
    "true",
  ];
  run.say(
    `schemathesis run ${run.url}/openapi.json --checks all, every phase, seed ${run.seed}, at most ${run.maxSeconds} s`,
  );
  return new Promise((resolve) => {
    fs.mkdirSync(run.reportDir, { recursive: true });
    // In the report folder: schemathesis keeps its cache of crashes in its working directory.
    const child = spawn(executable, args, {
      cwd: run.reportDir,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", SCHEMATHESIS_HOOKS: HOOKS },
    });
    let output = "";
    for (const stream of [child.stdout, child.stderr]) {
      stream.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
    }
    child.on("close", (code) => resolve({ code, output }));
  });
}
