// `npm run infra -- <command>`: the local stack without Docker.
//
//   up [server...]      install, build and start what is down; wait until each answers
//   status [server...]  each server: up / down / not answering
//   down [server...]    stop gracefully (bounded wait, then kill); data is kept
//   reset               down, then wipe the data
//   logs <server> [n]   the last n lines (default 100) of a server's log
//   doctor              what the stack needs of this machine (infra/doctor.ts)
//   prune [--dry-run]   remove the user cache's folders this checkout no longer uses (infra/prune.ts)
import fs from "node:fs";
import { parseCommandLine } from "#scripts/command-line.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { doctor, formatChecks } from "./doctor.ts";
import { NODE_VERSION } from "./node-version.mjs";
import { InfraError } from "./process.ts";
import { pruneCache } from "./prune.ts";
import { cacheFolders, down, formatRow, logFile, reset, SERVERS, status, up } from "./stack.ts";

const say = (line: string) => console.log(`[infra] ${line}`);

const usage = `usage: npm run infra -- <command> [server...]

  up [server...]      install, build and start what is down; wait until each answers
  status [server...]  each server: up / down / not answering (exit 3 if any is not up)
  down [server...]    stop gracefully; data is kept
  reset               down, then wipe the data
  logs <server> [n]   the last n lines (default 100) of a server's log
  doctor              ports, tools, disk and memory, one line each (exit 1 if any is not ok)
  prune [--dry-run]   remove the cache's folders this checkout no longer uses (--dry-run: list them)
  -h, --help          this text
servers: ${SERVERS.map((s) => s.name).join(", ")}`;

const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine("infra", usage, {
    allowPositionals: true,
    options: { "dry-run": { type: "boolean", default: false } },
  });
  const [command, ...rest] = positionals;
  const dryRun = values["dry-run"];
  if (dryRun && command !== "prune") {
    console.error("infra: --dry-run goes with prune (--help shows the usage)");
    return 2;
  }
  if ((command === "doctor" || command === "prune") && rest.length > 0) {
    console.error(`infra: ${command} takes no server names (--help shows the usage)`);
    return 2;
  }
  const config = loadConfig();
  switch (command) {
    case "up": {
      say(`state folder ${config.stateDir}, cache ${config.cacheDir}`);
      const started = Date.now();
      await up(config, rest, say, (row) => console.log(formatRow(row)));
      say(`local stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    case "status": {
      const rows = await status(config, rest);
      for (const row of rows) console.log(formatRow(row));
      return rows.every((row) => row.state === "up") ? 0 : 3;
    }
    case "down":
      for (const row of await down(config, rest, say)) console.log(formatRow(row));
      return 0;
    case "reset":
      for (const row of await reset(config, say)) console.log(formatRow(row));
      say(`data wiped under ${config.stateDir}`);
      return 0;
    case "logs": {
      const [name, lines = "100"] = rest;
      if (!name) throw new InfraError(`logs needs a server name\n${usage}`);
      const file = logFile(config, name);
      if (!fs.existsSync(file)) throw new InfraError(`${name} has no log yet (${file})`);
      const text = fs.readFileSync(file, "utf8").trimEnd().split("\n");
      console.log(text.slice(-Number(lines)).join("\n"));
      return 0;
    }
    case "doctor": {
      const checks = await doctor(config);
      for (const line of formatChecks(checks)) console.log(line);
      const bad = checks.filter((check) => check.status !== "ok").length;
      say(bad === 0 ? `all ${checks.length} checks ok` : `${bad} of ${checks.length} checks not ok`);
      return bad === 0 ? 0 : 1;
    }
    case "prune": {
      const folders = pruneCache(config.cacheDir, { current: cacheFolders(config), nodeVersion: NODE_VERSION, dryRun });
      const width = Math.max(0, ...folders.map((folder) => folder.name.length));
      for (const { name, bytes, remove, why } of folders) {
        const action = remove ? (dryRun ? "would remove" : "removed") : "kept";
        console.log(`${action.padEnd(12)} ${name.padEnd(width)} ${megabytes(bytes).padStart(9)}  ${why}`);
      }
      const gone = folders.filter((folder) => folder.remove);
      const freed = megabytes(gone.reduce((sum, folder) => sum + folder.bytes, 0));
      say(`${dryRun ? "would free" : "freed"} ${freed} (${gone.length} folders) in ${config.cacheDir}`);
      return 0;
    }
    default:
      if (command !== undefined) console.error(`infra: unknown command '${command}'`);
      console.error(usage);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  // What went wrong, never a stack trace: that only with DEBUG set, for whoever debugs this script.
  (error: unknown) => {
    console.error(`infra: ${error instanceof Error ? error.message || error.name : String(error)}`);
    if (process.env.DEBUG && error instanceof Error) console.error(error.stack);
    process.exit(1);
  },
);
