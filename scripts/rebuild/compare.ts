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

/** Every document that differs between `live` and `rebuilt`, by _id. */
export async function compareGenerations(
  live: Collection<ReadModelDoc>,
  rebuilt: Collection<ReadModelDoc>,
  progress?: (compared: number) => void,
): Promise<Difference[]> {
  const a = live.find({}).sort({ _id: 1 }).batchSize(1000);
  const b = rebuilt.find({}).sort({ _id: 1 }).batchSize(1000);
  const suspects: string[] = [];
  let x = await a.next();
  let y = await b.next();
  let compared = 0;
  while (x || y) {
    if (x && (!y || x._id < y._id)) {
      suspects.push(x._id);
      x = await a.next();
    } else if (y && (!x || y._id < x._id)) {
      suspects.push(y._id);
      y = await b.next();
    } else if (x && y) {
      if (!isDeepStrictEqual(x, y)) suspects.push(x._id);
      [x, y] = await Promise.all([a.next(), b.next()]);
    }
    compared++;
    if (compared % 1000 === 0) progress?.(compared);
  }
  await Promise.all([a.close(), b.close()]);
  // Read again, both at once: a difference between versions may be an event one has and the other
  // has not yet taken.
  let differences: Difference[] = [];
  let pending = suspects;
  for (let round = 0; round <= RECHECKS && pending.length > 0; round++) {
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
    const [liveDocs, rebuiltDocs] = await Promise.all([
      live.find({ _id: { $in: pending } }).toArray(),
      rebuilt.find({ _id: { $in: pending } }).toArray(),
    ]);
    const liveById = new Map(liveDocs.map((doc) => [doc._id, doc]));
    const rebuiltById = new Map(rebuiltDocs.map((doc) => [doc._id, doc]));
    differences = [];
    const moving: string[] = [];
    for (const id of pending) {
      const difference = differenceOf(id, liveById.get(id) ?? null, rebuiltById.get(id) ?? null);
      if (!difference) continue;
      differences.push(difference);
      const versions = [liveById.get(id)?.version, rebuiltById.get(id)?.version];
      // Derived documents have no version: they may still be recomputed.
      if (versions[0] !== versions[1] || versions[0] === undefined) moving.push(id);
    }
    // Only those at different versions may still converge; the others are settled differences.
    if (moving.length === 0) break;
    pending = differences.map((difference) => difference.id);
  }
  return differences.sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0));
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
