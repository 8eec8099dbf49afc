// Reading one aggregate by id on the reader: Redis first, then the read model, then a
// version-guarded cache fill. With a minimum version (read your writes) it waits, bounded by
// MIN_VERSION_WAIT_MS, for the projection to reach it, and is `unavailable` (503) past the bound.
import type { Collection, Db } from "mongodb";
import { notFound, unavailable } from "../platform/errors.ts";
import type { ReaderDeps } from "./reader-deps.ts";
import type { ReadModelDoc } from "./versioned-projection.ts";

const POLL_MS = 25;

export interface ReadOneSpec<Doc extends ReadModelDoc, Item extends { version: number }> {
  /** The cache kind, e.g. "product". */
  kind: string;
  /** What a 404 says, e.g. "no such product". */
  missing: string;
  collection: (db: Db) => Collection<Doc>;
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
  // The driver's types cannot follow a generic document through a filter on _id.
  const doc = (await (spec.collection(deps.readModel) as unknown as Collection<ReadModelDoc>).findOne({
    _id: id,
  })) as Doc | null;
  if (!doc || doc.version < minVersion) return undefined;
  if (doc.deleted) return "deleted";
  const item = spec.toItem(doc);
  await deps.cache.fill(spec.kind, id, item.version, JSON.stringify(item));
  return item;
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
