// Verification: two generations of a read model compared document by document, both read in _id
// order and merged. A difference is a document missing from the new generation, one only the new
// generation has, or one whose fields differ (each field named). Both generations take live events
// while they are compared, a moment apart, so a document found different at different versions is
// read again a few times: only differences that stay are reported.
import { isDeepStrictEqual } from "node:util";
import type { Collection } from "mongodb";
import type { ReadModelDoc } from "#shared/read-side/versioned-projection.ts";

export type Difference =
  | { id: string; kind: "missing"; live: ReadModelDoc }
  | { id: string; kind: "extra"; rebuilt: ReadModelDoc }
  | { id: string; kind: "changed"; fields: { field: string; live: unknown; rebuilt: unknown }[] };

const RECHECKS = 5;
const RECHECK_MS = 300;

function fieldsOf(live: ReadModelDoc, rebuilt: ReadModelDoc): { field: string; live: unknown; rebuilt: unknown }[] {
  const a = live as unknown as Record<string, unknown>;
  const b = rebuilt as unknown as Record<string, unknown>;
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names
    .filter((name) => !isDeepStrictEqual(a[name], b[name]))
    .map((field) => ({ field, live: a[field], rebuilt: b[field] }));
}

export function differenceOf(
  id: string,
  live: ReadModelDoc | null,
  rebuilt: ReadModelDoc | null,
): Difference | undefined {
  if (live && !rebuilt) return { id, kind: "missing", live };
  if (!live && rebuilt) return { id, kind: "extra", rebuilt };
  if (!live || !rebuilt) return undefined;
  const fields = fieldsOf(live, rebuilt);
  return fields.length > 0 ? { id, kind: "changed", fields } : undefined;
}

const PAGE = 1000;
const CHUNK = 500;

/** Every document of `collection` in _id order, a keyset page at a time (each page an indexed range). */
async function* inIdOrder(collection: Collection<ReadModelDoc>): AsyncGenerator<ReadModelDoc> {
  let last: string | undefined;
  for (;;) {
    const filter = last === undefined ? {} : { _id: { $gt: last } };
    const page = await collection.find(filter).sort({ _id: 1 }).limit(PAGE).toArray();
    yield* page;
    if (page.length < PAGE) return;
    last = page.at(-1)?._id;
  }
}

/** The documents of `ids` (sorted), read a range of _id at a time, not by a long $in. */
async function byIds(collection: Collection<ReadModelDoc>, ids: string[]): Promise<Map<string, ReadModelDoc>> {
  const found = new Map<string, ReadModelDoc>();
  for (let k = 0; k < ids.length; k += CHUNK) {
    const chunk = ids.slice(k, k + CHUNK);
    const wanted = new Set(chunk);
    const [first, last] = [chunk[0], chunk.at(-1)];
    const docs = await collection.find({ _id: { $gte: first, $lte: last } }).toArray();
    for (const doc of docs) if (wanted.has(doc._id)) found.set(doc._id, doc);
  }
  return found;
}

/** Every document that differs between `live` and `rebuilt`, by _id. */
export async function compareGenerations(
  live: Collection<ReadModelDoc>,
  rebuilt: Collection<ReadModelDoc>,
  /** Bookkeeping documents, not compared. */
  skip: ReadonlySet<string> = new Set(),
): Promise<Difference[]> {
  const a = inIdOrder(live);
  const b = inIdOrder(rebuilt);
  const settled: Difference[] = [];
  /** Differences between documents at different versions (or without one): they may converge. */
  const moving: string[] = [];
  const note = (id: string, x: ReadModelDoc | null, y: ReadModelDoc | null) => {
    if (skip.has(id)) return;
    const difference = differenceOf(id, x, y);
    if (!difference) return;
    if (x?.version === undefined || x.version !== y?.version) moving.push(id);
    else settled.push(difference);
  };
  let x = (await a.next()).value ?? null;
  let y = (await b.next()).value ?? null;
  while (x || y) {
    if (x && (!y || x._id < y._id)) {
      note(x._id, x, null);
      x = (await a.next()).value ?? null;
    } else if (y && (!x || y._id < x._id)) {
      note(y._id, null, y);
      y = (await b.next()).value ?? null;
    } else if (x && y) {
      if (!isDeepStrictEqual(x, y)) note(x._id, x, y);
      [x, y] = await Promise.all([a.next(), b.next()]).then(([p, q]) => [p.value ?? null, q.value ?? null]);
    }
  }
  // Read again, both at once: a difference between versions may be an event one has and the other
  // has not taken yet.
  let pending = moving;
  let differences: Difference[] = [];
  for (let round = 1; round <= RECHECKS && pending.length > 0; round++) {
    await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
    const [liveById, rebuiltById] = await Promise.all([byIds(live, pending), byIds(rebuilt, pending)]);
    differences = [];
    for (const id of pending) {
      const difference = differenceOf(id, liveById.get(id) ?? null, rebuiltById.get(id) ?? null);
      if (difference) differences.push(difference);
    }
    const before = pending.length;
    pending = differences.map((difference) => difference.id);
    if (pending.length === before && round >= 2) break; // nothing converges any more
  }
  return [...settled, ...differences].sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0));
}

/** One line per difference, for the terminal. */
export function describe(difference: Difference): string {
  switch (difference.kind) {
    case "missing":
      return `${difference.id}: missing from the rebuilt generation (live has version ${difference.live.version})`;
    case "extra":
      return `${difference.id}: only in the rebuilt generation (version ${difference.rebuilt.version})`;
    case "changed":
      return `${difference.id}: ${difference.fields
        .map((f) => `${f.field} ${JSON.stringify(f.live)} -> ${JSON.stringify(f.rebuilt)}`)
        .join("; ")}`;
  }
}
