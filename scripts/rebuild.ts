// `npm run rebuild -- <read model> [...]`: rebuilds a read model side by side from PostgreSQL,
// verifies it and switches to it (scripts/rebuild/run.ts). It reads POSTGRES_URL, MONGODB_URL,
// MONGODB_DATABASE, REDIS_URL and REDIS_KEY_PREFIX like the services (the local stack by default);
// the readers must be running (their projections write the new generation while it is built).
import { rebuildSources } from "#functions/rebuild-registry.ts";
import { ConfigError, loadConfig } from "#shared/platform/config.ts";
import { parseCommandLine } from "./command-line.ts";
import { RebuildRefused } from "./rebuild/pointer.ts";
import { cancel, dropPrevious, openRebuild, READERS_TIMEOUT_MS, rebuild, rebuildOne, rollback } from "./rebuild/run.ts";

const MODELS = Object.keys(rebuildSources);

const HELP = `usage: npm run rebuild -- READ_MODEL [--rate DOCS_PER_S] [--verify] [--accept-differences]
       npm run rebuild -- READ_MODEL --id AGGREGATE_ID
       npm run rebuild -- READ_MODEL --rollback | --drop-previous | --cancel

  builds a new generation of READ_MODEL (${MODELS.join(", ")}) from PostgreSQL into a collection of its
  own while the live one keeps serving and the readers write live events into both; then compares
  the two document by document and switches (the previous generation is kept)

  --rate N               at most N documents a second (default: as fast as the servers take them)
  --verify               build and compare, report every difference, do not switch
  --accept-differences   switch even though the new generation differs from the live one
  --id ID                rewrite only the live document of ID from its row
  --rollback             make the previous generation live again
  --drop-previous        drop the previous generation's collection
  --cancel               give up an interrupted or unswitched rebuild and drop its collection
  -h, --help             this text

  Ctrl-C stops a rebuild after the page it writes; running it again resumes it. Exit status: 0 done,
  1 differences found (not switched), failed or refused (another rebuild running), 2 usage,
  130 interrupted.`;

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine("rebuild", HELP, {
    allowPositionals: true,
    options: {
      rate: { type: "string" },
      verify: { type: "boolean", default: false },
      "accept-differences": { type: "boolean", default: false },
      id: { type: "string" },
      rollback: { type: "boolean", default: false },
      "drop-previous": { type: "boolean", default: false },
      cancel: { type: "boolean", default: false },
    },
  });
  const usage = (why: string) => {
    console.error(`rebuild: ${why} (--help shows the usage)`);
    return 2;
  };
  const [model, ...extra] = positionals;
  if (!model) return usage(`which read model? one of ${MODELS.join(", ")}`);
  if (extra.length > 0) return usage(`unexpected ${extra.join(" ")}`);
  const source = rebuildSources[model];
  if (!source) return usage(`no read model ${model}; one of ${MODELS.join(", ")}`);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) return usage("--rate takes a positive number");
  const actions = [values.id !== undefined, values.rollback, values["drop-previous"], values.cancel].filter(Boolean);
  if (actions.length > 1) return usage("--id, --rollback, --drop-previous and --cancel go alone");
  if (actions.length === 1 && (values.verify || values["accept-differences"] || rate !== undefined)) {
    return usage("--verify, --accept-differences and --rate go with a rebuild only");
  }

  let stop = false;
  const onSignal = () => {
    if (stop) process.exit(130);
    stop = true;
    console.error("rebuild: stopping after the page being written (Ctrl-C again to quit at once)");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const { ctx, close } = await openRebuild(loadConfig(), {
    model,
    source,
    say: (line) => console.log(`[rebuild] ${line}`),
    interrupted: () => stop,
  });
  try {
    if (values.id !== undefined) {
      await rebuildOne(ctx, values.id);
      return 0;
    }
    if (values.rollback) {
      await rollback(ctx);
      return 0;
    }
    if (values["drop-previous"]) {
      await dropPrevious(ctx);
      return 0;
    }
    if (values.cancel) {
      await cancel(ctx);
      return 0;
    }
    const outcome = await rebuild(ctx, {
      verifyOnly: values.verify,
      acceptDifferences: values["accept-differences"],
      rate,
      readersTimeoutMs: READERS_TIMEOUT_MS,
      pageSize: 1000,
    });
    if (outcome.outcome === "interrupted") return 130;
    return outcome.outcome === "differences" ? 1 : 0;
  } finally {
    await close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = error instanceof RebuildRefused || error instanceof ConfigError;
    console.error(`rebuild: ${known || error instanceof Error ? (error as Error).message : String(error)}`);
    process.exit(1);
  },
);
