// `npm run bench`: the system against the simplest correct baselines, on the same servers and data,
// measured in the same run. Every judged figure is a ratio to a baseline (or the system's own figure
// at another size), never an absolute time: these machines are shared and noisy. Prints one table
// and writes the same results as JSON and as an HTML report with charts under .local/bench/.
//
//   npm run bench                      the full run: 1k, 10k, 100k products (≈23 min; the 100k set is
//                                      seeded once and kept, keyed by the generator's parameters)
//   npm run bench -- --smoke           1k products, one round, short windows (≈55 s; npm test runs it)
//   npm run bench -- --only search     only the scenarios whose id starts with it
//   npm run bench -- --compare FILE    also print the change per figure against an earlier run's JSON
//   npm run bench -- --profile ID      CPU profiles of each service under that scenario's load
//
// It uses its own databases, topics, consumer groups, Redis prefix and service ports (one run id),
// never touches a running `npm start`, and removes what it created (not the kept 100k set).
import { execSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { formatRow, status, up } from "#infra/stack.ts";
import { ConfigError, loadConfig } from "#shared/platform/config.ts";
import { runBench } from "./bench/run.ts";
import { parseCommandLine } from "./command-line.ts";

const HELP = `usage: npm run bench [-- options]

  --smoke            1k products, one round, 1 s windows (about 55 s)
  --only PREFIX      only the scenarios whose id starts with PREFIX (e.g. search, read.cached), or
                     with one of several, comma-separated (rebuild,catch-up.100k)
  --compare FILE     print the change per figure against an earlier run's JSON report
  --profile ID       write CPU profiles of each service under scenario ID's load, print the top functions
  --out DIR          where the reports go (default .local/bench)
  -h, --help         this text`;

async function main(): Promise<number> {
  const { values } = parseCommandLine("bench", HELP, {
    options: {
      smoke: { type: "boolean", default: false },
      only: { type: "string" },
      compare: { type: "string" },
      profile: { type: "string" },
      out: { type: "string" },
    },
  });
  const config = loadConfig();
  if (values.compare !== undefined && !fs.existsSync(values.compare)) {
    console.error(`bench: no such report ${values.compare}`);
    return 2;
  }
  console.log("[bench] bringing up the local stack (servers already running are left as they are)");
  await up(
    config,
    [],
    (line) => console.log(`[infra] ${line}`),
    (row) => console.log(formatRow(row)),
  );
  const servers: Record<string, number> = {};
  const versions: Record<string, string> = {};
  for (const row of await status(config)) {
    if (row.pid !== undefined) servers[row.name] = row.pid;
    versions[row.name] = row.version;
  }
  const commit = (() => {
    try {
      const sha = execSync("git rev-parse --short HEAD", { encoding: "utf8" }).trim();
      const dirty = execSync("git status --porcelain", { encoding: "utf8" }).trim() !== "";
      return dirty ? `${sha}+changes` : sha;
    } catch {
      return "unknown";
    }
  })();
  const cpus = os.cpus();
  return runBench({
    mode: values.smoke ? "smoke" : "full",
    only: values.only ?? values.profile,
    profile: values.profile,
    compare: values.compare,
    outDir: path.resolve(values.out ?? path.join(config.stateDir, "bench")),
    commit,
    servers,
    machine: {
      cores: cpus.length,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      loadAverage: os.loadavg() as [number, number, number],
      node: process.version,
      servers: versions,
      cpuModel: cpus[0]?.model ?? "unknown",
    },
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}`);
    if (process.env.DEBUG && error instanceof Error) console.error(error.stack);
    process.exit(1);
  },
);
