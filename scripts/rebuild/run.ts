// `npm run rebuild`'s work (scripts/rebuild.ts is its command line): a new generation of a read model
// built side by side from PostgreSQL while the live one serves queries and takes events, verified
// against the live one, then switched to; or a rollback, a verification, a single document.
//
// 1. claim: the pointer records this rebuild (one at a time; an interrupted one is resumed) and
//    raises its epoch, so the readers start writing live events into the new generation too;
// 2. wait until every reader present writes both generations (each reports its epoch);
// 3. copy the snapshot (copy.ts), then create the indexes;
// 4. compare with the live generation (compare.ts); differences refuse the switch unless accepted;
// 5. switch: the cache entries of the documents that differ are superseded under the next epoch,
//    then the pointer makes the new generation live and raises the epoch; readers follow within
//    GENERATIONS_POLL_MS and keep writing the new generation (now live) without a gap.
import os from "node:os";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import { type Db, MongoClient } from "mongodb";
import postgres from "postgres";
import type { RebuildSource } from "#functions/rebuild-registry.ts";
import type { Config } from "#shared/platform/config.ts";
import { createLog } from "#shared/platform/log.ts";
import { connectCache, type VersionedCache } from "#shared/read-side/cache.ts";
import { collectionName, type GenerationPointer, type LastRebuild } from "#shared/read-side/generations.ts";
import { ensureIndexes } from "#shared/read-side/versioned-projection.ts";
import * as schema from "#shared/write-side/db/schema.ts";
import { compareGenerations, type Difference, describe, differenceOf } from "./compare.ts";
import { copySnapshot, documentOf } from "./copy.ts";
import {
  abandon,
  bumpEpoch,
  claim,
  forgetPrevious,
  park,
  pointerOf,
  RebuildRefused,
  readersBehind,
  report,
  STALE_MS,
  swapBack,
  switchTo,
} from "./pointer.ts";

export type Say = (line: string) => void;

export interface RebuildContext {
  db: Db;
  sql: postgres.Sql;
  cache: VersionedCache;
  model: string;
  source: RebuildSource;
  say: Say;
  /** Set by Ctrl-C: the rebuild stops after the page it is writing and can be resumed. */
  interrupted: () => boolean;
}

/**
 * A rebuild's connections for `config` (the read model, the writer's database, the cache), as
 * the command line and the bench open them; `close` ends them.
 */
export async function openRebuild(
  config: Config,
  context: Pick<RebuildContext, "model" | "source" | "say" | "interrupted">,
): Promise<{ ctx: RebuildContext; close(): Promise<void> }> {
  const mongo = new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 });
  const sql = postgres(config.postgres.url, { max: 2, onnotice: () => {} });
  const close = async () => {
    await sql.end({ timeout: 5 });
    await mongo.close();
  };
  try {
    await mongo.connect();
    const cache = await connectCache({
      url: config.redis.url,
      keyPrefix: config.redis.keyPrefix,
      ttlSeconds: config.redis.cacheTtlSeconds,
      log: createLog("rebuild"),
    });
    return {
      ctx: { ...context, db: mongo.db(config.mongodb.database), sql, cache },
      async close() {
        await cache.close();
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

export interface RebuildOptions {
  verifyOnly: boolean;
  acceptDifferences: boolean;
  rate: number | undefined;
  /** How long to wait for the readers to write both generations. */
  readersTimeoutMs: number;
  /** Rows per page of the snapshot, documents per insertMany. */
  pageSize: number;
  /** Awaited after each page is written (tests hold a rebuild there). */
  onPage?: () => unknown;
}

export interface RebuildResult {
  outcome: LastRebuild["outcome"];
  generation: number;
  documents: number;
  seconds: number;
  rate: number;
  differences: Difference[];
}

/** How long a rebuild waits for the readers to follow the pointer. */
export const READERS_TIMEOUT_MS = 30_000;

const owner = () => `rebuild@${os.hostname()}:${process.pid}`;
const collection = (ctx: RebuildContext, generation: number) =>
  ctx.source.projection.collection(ctx.db, collectionName(ctx.model, generation));

function bar(done: number, total: number, rate: number): string {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const width = 30;
  const filled = Math.round(share * width);
  const eta = rate > 0 ? Math.max(0, Math.round((total - done) / rate)) : undefined;
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done.toLocaleString("en")} of ${total.toLocaleString("en")} (${Math.round(share * 100)}%), ${Math.round(rate).toLocaleString("en")} a second${eta === undefined ? "" : `, ${eta} s to go`}`;
}

/** Waits until every reader present follows the pointer at `epoch` (they report it between writes). */
async function waitForReaders(ctx: RebuildContext, epoch: number, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let said = false; ; said = true) {
    const behind = await readersBehind(ctx.db, ctx.model, epoch);
    if (behind.length === 0) return;
    if (Date.now() > deadline) throw new RebuildRefused(`readers did not ${what} in time: ${behind.join(", ")}`);
    if (!said) ctx.say(`waiting for ${behind.length} reader(s) to ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Drops a generation's collection, and its derived one if the read model has one. */
async function dropGeneration(ctx: RebuildContext, generation: number): Promise<void> {
  const name = collectionName(ctx.model, generation);
  const derived = ctx.source.projection.derived;
  for (const doomed of [name, ...(derived ? [derived.collectionFor(name)] : [])]) {
    await ctx.db
      .collection(doomed)
      .drop()
      .catch(() => false);
  }
}

/** Supersedes the cache entries of `ids` under `epoch`: no reader serves the old bodies after the switch. */
async function supersede(ctx: RebuildContext, ids: string[], epoch: number): Promise<void> {
  const kind = ctx.source.projection.cacheKind;
  if (kind === undefined) return; // not cached
  for (const id of ids) await ctx.cache.supersede(kind, id, epoch);
}

export async function rebuild(ctx: RebuildContext, options: RebuildOptions): Promise<RebuildResult> {
  const me = owner();
  const { building, resumed, pointer } = await claim(ctx.db, ctx.model, me);
  const generation = building.generation;
  const target = collection(ctx, generation);
  const started = Date.now();
  ctx.say(
    resumed
      ? `resuming the rebuild of ${ctx.model} into generation ${generation} (${building.copied.toLocaleString("en")} documents copied before)`
      : `rebuilding ${ctx.model} into generation ${generation} (${collectionName(ctx.model, generation)}); generation ${pointer.live} stays live`,
  );
  if (!resumed) await dropGeneration(ctx, generation);
  let lost = false;
  let progress: Partial<typeof building> = {};
  let beat: Promise<void> = Promise.resolve();
  const heartbeat = setInterval(() => {
    beat = report(ctx.db, ctx.model, me, progress).then(
      (own) => {
        if (!own) lost = true;
      },
      () => undefined,
    );
  }, 1000);
  // Parks the rebuild once the heartbeat has stopped and a report under way has landed: one landing
  // after the park would set the heartbeat again, and the parked rebuild would look running (cancel
  // refused) for STALE_MS.
  const parkAs = async (last: LastRebuild) => {
    clearInterval(heartbeat);
    await beat;
    await park(ctx.db, ctx.model, me, last);
  };
  const step = async (changes: Partial<typeof building>) => {
    progress = { ...progress, ...changes };
    if (!(await report(ctx.db, ctx.model, me, progress))) lost = true;
    if (lost) throw new RebuildRefused(`the rebuild of ${ctx.model} was taken over by another`);
  };
  const interrupted = () => ctx.interrupted() || lost;
  try {
    // 2. Every reader writes both generations before the snapshot is taken.
    await step({ phase: "waiting for readers" });
    await waitForReaders(ctx, pointer.epoch, "write both generations", options.readersTimeoutMs);

    // 3. The snapshot.
    await step({ phase: "copying" });
    const copyStarted = performance.now();
    let lastSaid = 0;
    const copied = await copySnapshot({
      sql: ctx.sql,
      source: ctx.source,
      collection: target,
      from: building.lastId,
      copiedBefore: building.copied,
      rate: options.rate,
      pageSize: options.pageSize,
      interrupted,
      progress: async (state) => {
        const rate = (state.copied - building.copied) / Math.max(0.001, (performance.now() - copyStarted) / 1000);
        progress = { ...progress, copied: state.copied, total: state.total, rate, lastId: state.lastId };
        if (Date.now() - lastSaid >= 1000 || state.copied >= state.total) {
          ctx.say(`copying ${bar(state.copied, state.total, rate)}`);
          lastSaid = Date.now();
        }
        await options.onPage?.();
      },
    });
    await step({ copied: copied.copied, total: copied.total, lastId: copied.lastId });
    if (interrupted()) {
      await parkAs(lastOf("interrupted", generation, copied.copied, started, 0));
      ctx.say(`interrupted after ${copied.copied.toLocaleString("en")} documents; run it again to resume`);
      return result("interrupted", generation, copied.copied, started, []);
    }
    const copySeconds = (performance.now() - copyStarted) / 1000;
    const rate = (copied.copied - building.copied) / Math.max(0.001, copySeconds);
    ctx.say(
      `copied ${copied.copied.toLocaleString("en")} documents in ${copySeconds.toFixed(1)} s (${Math.round(rate).toLocaleString("en")} a second)`,
    );

    await step({ phase: "indexing" });
    await ensureIndexes(target, ctx.source.projection.indexes);
    const derived = ctx.source.projection.derived;
    if (derived) {
      // Every derived document from the copied ones; live events recompute theirs meanwhile (the
      // recount converges whichever writes last).
      await step({ phase: "deriving" });
      const name = collectionName(ctx.model, generation);
      await ensureIndexes(ctx.db.collection(derived.collectionFor(name)), derived.indexes);
      const keys = await derived.allKeys(ctx.db, name);
      await derived.mark(ctx.db, name, keys);
      await derived.settle(ctx.db, name);
      ctx.say(`derived ${keys.length.toLocaleString("en")} document(s) into ${derived.collectionFor(name)}`);
    }

    // 4. Verification against the live generation.
    await step({ phase: "verifying" });
    const live = collection(ctx, pointer.live);
    const differences = await compareGenerations(live, target);
    if (derived) {
      const [liveName, targetName] = [pointer.live, generation].map((g) =>
        derived.collectionFor(collectionName(ctx.model, g)),
      );
      const derivedDifferences = await compareGenerations(
        ctx.db.collection(liveName ?? ""),
        ctx.db.collection(targetName ?? ""),
        new Set(derived.bookkeeping),
      );
      differences.push(...derivedDifferences.map((d) => ({ ...d, id: `${targetName}:${d.id}` })));
    }
    ctx.say(
      differences.length === 0
        ? "verified: the rebuilt generation equals the live one, document by document"
        : `${differences.length} document(s) differ from the live generation:`,
    );
    for (const difference of differences.slice(0, 200)) ctx.say(`  ${describe(difference)}`);
    if (differences.length > 200) ctx.say(`  ... and ${differences.length - 200} more`);
    const documents = copied.copied;
    if (options.verifyOnly || (differences.length > 0 && !options.acceptDifferences)) {
      const outcome = differences.length > 0 ? "differences" : "verified";
      await parkAs(lastOf(outcome, generation, documents, started, differences.length, rate));
      ctx.say(
        options.verifyOnly
          ? "not switched (--verify); the new generation keeps taking live events: run without --verify to switch"
          : "not switched: the differences above need --accept-differences (run again; the copy is not redone)",
      );
      return result(outcome, generation, documents, started, differences, rate);
    }

    // 5. The switch.
    await step({ phase: "switching" });
    const now = await pointerOf(ctx.db, ctx.model);
    await supersede(
      ctx,
      differences.map((difference) => difference.id),
      now.epoch + 1,
    );
    await switchTo(
      ctx.db,
      ctx.model,
      me,
      now.epoch,
      lastOf("switched", generation, documents, started, differences.length, rate),
    );
    ctx.say(
      `switched: generation ${generation} is live (readers follow within their poll period); generation ${now.live} is kept as the previous one (--rollback, --drop-previous)`,
    );
    // The previous one before this switch is no longer written by anyone: once every reader
    // follows, it goes (a late write would create it again).
    const orphan = now.previous;
    if (orphan !== undefined && orphan !== generation && orphan !== now.live) {
      await waitForReaders(ctx, now.epoch + 1, "follow the switch", READERS_TIMEOUT_MS);
      await dropGeneration(ctx, orphan);
      ctx.say(`dropped generation ${orphan} (${collectionName(ctx.model, orphan)}), the previous one before`);
    }
    return result("switched", generation, documents, started, differences, rate);
  } catch (error) {
    if (!(error instanceof RebuildRefused)) {
      await parkAs(lastOf("failed", generation, Number(progress.copied ?? 0), started, 0)).catch(() => undefined);
    }
    throw error;
  } finally {
    clearInterval(heartbeat);
  }
}

function lastOf(
  outcome: LastRebuild["outcome"],
  generation: number,
  documents: number,
  started: number,
  differences: number,
  rate = 0,
): LastRebuild {
  return { outcome, generation, documents, seconds: (Date.now() - started) / 1000, rate, differences, at: new Date() };
}

function result(
  outcome: LastRebuild["outcome"],
  generation: number,
  documents: number,
  started: number,
  differences: Difference[],
  rate = 0,
): RebuildResult {
  return { outcome, generation, documents, seconds: (Date.now() - started) / 1000, rate, differences };
}

/** Makes the previous generation live again; the cache entries of the documents that differ are superseded. */
export async function rollback(ctx: RebuildContext): Promise<RebuildResult> {
  const pointer = await pointerOf(ctx.db, ctx.model);
  if (pointer.previous === undefined) throw new RebuildRefused(`${ctx.model} has no previous generation to go back to`);
  if (pointer.building && Date.now() - pointer.building.heartbeatAt.getTime() < STALE_MS) {
    throw new RebuildRefused(`a rebuild of ${ctx.model} is running; roll back after it`);
  }
  const started = Date.now();
  const differences = await compareGenerations(collection(ctx, pointer.previous), collection(ctx, pointer.live));
  await supersede(
    ctx,
    differences.map((difference) => difference.id),
    pointer.epoch + 1,
  );
  await swapBack(ctx.db, pointer, lastOf("rolled back", pointer.previous, 0, started, differences.length));
  ctx.say(
    `rolled back: generation ${pointer.previous} of ${ctx.model} is live again (${differences.length} document(s) differ); generation ${pointer.live} is the previous one`,
  );
  return result("rolled back", pointer.previous, 0, started, differences);
}

/** Drops the previous generation's collection. */
export async function dropPrevious(ctx: RebuildContext): Promise<void> {
  const pointer = await pointerOf(ctx.db, ctx.model);
  if (pointer.previous === undefined) throw new RebuildRefused(`${ctx.model} has no previous generation`);
  await forgetPrevious(ctx.db, pointer);
  // Only once no reader writes it any more: a late write would create the collection again.
  await waitForReaders(ctx, pointer.epoch + 1, "stop writing it", READERS_TIMEOUT_MS);
  await dropGeneration(ctx, pointer.previous);
  ctx.say(`dropped generation ${pointer.previous} of ${ctx.model} (${collectionName(ctx.model, pointer.previous)})`);
}

/** Gives up a rebuild that is not running: the readers stop writing its generation, which is dropped. */
export async function cancel(ctx: RebuildContext): Promise<void> {
  const pointer = await pointerOf(ctx.db, ctx.model);
  if (!pointer.building) throw new RebuildRefused(`no rebuild of ${ctx.model} to cancel`);
  if (Date.now() - pointer.building.heartbeatAt.getTime() < STALE_MS) {
    throw new RebuildRefused(`the rebuild of ${ctx.model} is running (${pointer.building.owner}); stop it first`);
  }
  await abandon(ctx.db, pointer);
  await waitForReaders(ctx, pointer.epoch + 1, "stop writing it", READERS_TIMEOUT_MS);
  await dropGeneration(ctx, pointer.building.generation);
  ctx.say(`cancelled the rebuild of ${ctx.model}; dropped generation ${pointer.building.generation}`);
}

/**
 * Rewrites one document of the live generation from its row (a fix without a whole rebuild), and
 * supersedes its cache entry under the next epoch.
 */
export async function rebuildOne(ctx: RebuildContext, id: string): Promise<Difference | undefined> {
  const pointer: GenerationPointer = await pointerOf(ctx.db, ctx.model);
  const table = ctx.source.table as typeof schema.products;
  const readRow = async () => {
    const [row] = await drizzle(ctx.sql, { schema }).select().from(table).where(eq(table.id, id));
    if (!row) throw new RebuildRefused(`no ${ctx.model} row with id ${id} in PostgreSQL`);
    return documentOf(ctx.source, row);
  };
  const live = collection(ctx, pointer.live);
  const before = await live.findOne({ _id: id });
  let doc = await readRow();
  // FerretDB's replace is a read then a write: a reader's newer version written in between would be
  // overwritten. Its event was committed before it was written, so reading the row again after the
  // write shows it: then write again, until the row is the version written.
  for (let attempt = 0; ; attempt++) {
    const { _id, ...replacement } = doc;
    await live
      .replaceOne({ _id, version: { $lte: doc.version } } as never, replacement, { upsert: true })
      .catch((error: unknown) => {
        if ((error as { code?: number }).code !== 11000) throw error;
      });
    const now = await readRow();
    if (now.version === doc.version) break;
    if (attempt >= 10) throw new RebuildRefused(`${id} keeps changing; try again when it is quiet`);
    doc = now;
  }
  await supersede(ctx, [id], pointer.epoch + 1);
  await bumpEpoch(ctx.db, pointer);
  const difference = differenceOf(id, before, doc);
  ctx.say(difference ? `rewrote ${id}: ${describe(difference)}` : `rewrote ${id}: it was already right`);
  return difference;
}
