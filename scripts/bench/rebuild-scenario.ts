// The rebuild's cost on a data set (`npm run rebuild`'s own code, scripts/rebuild/run.ts): the
// product read model rebuilt into a new generation beside the live one while the system serves
// reads, then compared with it. Measured: the copy's documents per second against a bare
// insertMany of the same documents into the same server, and reads by id (cache misses: each id
// read once) while it runs against the same reads without one. The rebuild stops before the
// switch (--verify) and is cancelled after, so the data set stays as it was seeded.
import type { Db } from "mongodb";
import { rebuildSources } from "#functions/rebuild-registry.ts";
import { pointers } from "#scripts/rebuild/pointer.ts";
import { cancel, openRebuild, READERS_TIMEOUT_MS, type RebuildResult, rebuild } from "#scripts/rebuild/run.ts";
import { collectionName } from "#shared/read-side/generations.ts";
import type { ReadModelDoc } from "#shared/read-side/versioned-projection.ts";
import { measure, windowOf } from "./load.ts";
import type { Window } from "./results.ts";
import { gets, type Settings } from "./scenarios.ts";
import type { BenchSystem } from "./system.ts";

const PAGE = 1000;

export interface RebuildFigures {
  result: RebuildResult;
  /** The copy: documents per second from the first page to the last. */
  copy: Window;
  /** A bare insertMany of the same documents, a page at a time. */
  bare: Window;
  readsWithout: Window;
  readsDuring: Window;
}

type Say = (line: string) => void;

/** Inserts `docs` into a scratch collection a page at a time, as the copy writes them; then drops it. */
async function bareInsert(db: Db, docs: ReadModelDoc[]): Promise<Window> {
  const scratch = db.collection<ReadModelDoc>("bench_bare_insert");
  await scratch.drop().catch(() => false);
  const started = performance.now();
  for (let k = 0; k < docs.length; k += PAGE) await scratch.insertMany(docs.slice(k, k + PAGE), { ordered: false });
  const seconds = (performance.now() - started) / 1000;
  await scratch.drop().catch(() => false);
  return { ...windowOf([], seconds), rate: docs.length / seconds, count: docs.length };
}

export async function rebuildCost(
  system: BenchSystem,
  settings: Settings,
  liveIds: readonly string[],
  say: Say,
): Promise<RebuildFigures> {
  const source = rebuildSources.products;
  if (!source) throw new Error("no rebuild source for products");
  const { ctx, close } = await openRebuild(system.config, {
    model: "products",
    source,
    say: (line) => say(`  rebuild: ${line}`),
    interrupted: () => false,
  });
  try {
    const { db } = ctx;
    // Each id read once: the first half without a rebuild, the second half during it.
    const paths = liveIds.map((id) => `/api/v1/products/${id}`);
    const half = Math.floor(paths.length / 2);
    const reads = (from: string[]) => gets(system.urls.gateway, settings.connections, from);
    const readsWithout = await measure(reads(paths.slice(0, half)), settings.windowSeconds);
    say(`  rebuild: reads without a rebuild p99 ${readsWithout.latency.p99} ms (${Math.round(readsWithout.rate)}/s)`);
    const running = rebuild(ctx, {
      verifyOnly: true,
      acceptDifferences: false,
      rate: undefined,
      readersTimeoutMs: READERS_TIMEOUT_MS,
      pageSize: PAGE,
    });
    // The reads during the copy: started once the copy is under way.
    for (let i = 0; i < 600; i++) {
      const building = (await pointers(db).findOne({ _id: "products" }))?.building;
      if (building?.phase === "copying" && building.copied > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const readsDuring = await measure(reads(paths.slice(half)), settings.windowSeconds);
    say(`  rebuild: reads during the rebuild p99 ${readsDuring.latency.p99} ms (${Math.round(readsDuring.rate)}/s)`);
    const result = await running;
    const copySeconds = result.rate > 0 ? result.documents / result.rate : 0;
    const copy = { ...windowOf([], copySeconds), rate: result.rate, count: result.documents };
    // The same documents, inserted bare into the same server.
    const generation = result.generation;
    const docs = await db.collection<ReadModelDoc>(collectionName("products", generation)).find({}).toArray();
    const bare = await bareInsert(db, docs);
    say(
      `  rebuild: copy ${Math.round(copy.rate)} docs/s, bare insertMany ${Math.round(bare.rate)} docs/s (ratio ${(copy.rate / bare.rate).toFixed(2)}), ${result.differences.length} difference(s), ${result.seconds.toFixed(1)} s in all`,
    );
    await cancel(ctx);
    return { result, copy, bare, readsWithout, readsDuring };
  } finally {
    await close();
  }
}
