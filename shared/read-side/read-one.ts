// Reading one aggregate by id on the reader: Redis first, then the read model, then a
// version-guarded cache fill. With a minimum version (read your writes) it waits, bounded by
// MIN_VERSION_WAIT_MS, for the projection to reach it, and is `unavailable` (503) past the bound.
import type { Collection, Db } from "mongodb";
import { notFound, unavailable } from "../platform/errors.ts";
import { traced } from "./read-model-spans.ts";
import type { ReaderDeps } from "./reader-deps.ts";
import { singleFlight } from "./single-flight.ts";
import type { ReadModelDoc } from "./versioned-projection.ts";

const POLL_MS = 25;

/**
 * One read-model query (and cache fill) at a time per key: the requests that miss on a key while
 * its query runs share that query's answer. A joiner needing a newer version than it brings polls
 * again, as any reader behind the projection does.
 */
const flights = singleFlight<ReadModelDoc | null>();

export interface ReadOneSpec<Doc extends ReadModelDoc, Item extends { version: number }> {
  /** The cache kind, e.g. "product". */
  kind: string;
  /** What a 404 says, e.g. "no such product". */
  missing: string;
  /** The read model, e.g. "products": its live generation is read. */
  model: string;
  collection: (db: Db, name: string) => Collection<Doc>;
  toItem(doc: Doc): Item;
}

async function lookup<Doc extends ReadModelDoc, Item extends { version: number }>(
  deps: ReaderDeps,
  spec: ReadOneSpec<Doc, Item>,
  id: string,
  minVersion: number,
): Promise<Item | "deleted" | undefined> {
  const cached = await deps.cache.get(spec.kind, id);
  if (cached && cached.version >= minVersion) return JSON.parse(cached.body) as Item;
  const epoch = deps.generations.epoch(spec.model);
  const name = deps.generations.live(spec.model);
  const doc = (await flights(`${deps.readModel.databaseName}/${name}:${id}`, async () => {
    // The driver's types cannot follow a generic document through a filter on _id.
    const collection = spec.collection(deps.readModel, name) as unknown as Collection<ReadModelDoc>;
    const found = await traced(collection, "find", () =>
      collection.findOne({ _id: id }, { maxTimeMS: deps.queryTimeoutMs }),
    );
    if (found && !found.deleted) {
      const body = JSON.stringify(spec.toItem(found as Doc));
      await deps.cache.fill(spec.kind, id, found.version, body, epoch);
    }
    return found;
  })) as Doc | null;
  if (!doc || doc.version < minVersion) return undefined;
  if (doc.deleted) return "deleted";
  return spec.toItem(doc);
}

export async function readOne<Doc extends ReadModelDoc, Item extends { version: number }>(
  deps: ReaderDeps,
  spec: ReadOneSpec<Doc, Item>,
  id: string,
  minVersion: number | undefined,
): Promise<Item> {
  const deadline = Date.now() + deps.minVersionWaitMs;
  for (;;) {
    const found = await lookup(deps, spec, id, minVersion ?? 0);
    if (found === "deleted") throw notFound(spec.missing);
    if (found) return found;
    if (minVersion === undefined) throw notFound(spec.missing);
    if (Date.now() >= deadline) throw unavailable(`the read model has not reached version ${minVersion} yet`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** A get-by-id query's handler: the item at `id` (at least `minVersion`), through the cache. */
export function readById<Doc extends ReadModelDoc, Item extends { version: number }>(spec: ReadOneSpec<Doc, Item>) {
  return (request: { id: string; minVersion?: number }, deps: ReaderDeps): Promise<Item> =>
    readOne(deps, spec, request.id, request.minVersion);
}
