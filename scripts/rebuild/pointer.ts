// A read model's generation pointer (shared/read-side/generations.ts) as a rebuild changes it: who
// rebuilds (one at a time), its progress, the switch, the rollback. Every change the readers must
// follow raises `epoch`.
import type { Collection, Db } from "mongodb";
import {
  type Building,
  type GenerationPointer,
  type LastRebuild,
  POINTERS,
  presenceMs,
  READERS,
  type ReaderPresence,
} from "#shared/read-side/generations.ts";

/** A rebuild whose owner has not said it is alive for this long was interrupted: it can be resumed. */
export const STALE_MS = 10_000;

export class RebuildRefused extends Error {
  override name = "RebuildRefused";
}

export const pointers = (db: Db): Collection<GenerationPointer> => db.collection<GenerationPointer>(POINTERS);

/** The pointer of `model`, created (generation 1 live) if it does not exist yet. */
export async function pointerOf(db: Db, model: string): Promise<GenerationPointer> {
  await pointers(db).updateOne({ _id: model }, { $setOnInsert: { epoch: 0, live: 1 } }, { upsert: true });
  const pointer = await pointers(db).findOne({ _id: model });
  if (!pointer) throw new Error(`the pointer of ${model} vanished`);
  return pointer;
}

/**
 * Takes the rebuild of `model` for `owner`: a new generation, or the interrupted one (its owner
 * silent for STALE_MS) to resume. Refuses while another rebuild is alive.
 */
export async function claim(
  db: Db,
  model: string,
  owner: string,
): Promise<{ building: Building; resumed: boolean; pointer: GenerationPointer }> {
  const pointer = await pointerOf(db, model);
  const now = new Date();
  const current = pointer.building;
  if (current && now.getTime() - current.heartbeatAt.getTime() < STALE_MS) {
    throw new RebuildRefused(
      `a rebuild of ${model} is already running (${current.owner}, generation ${current.generation}, ${current.phase}, started ${current.startedAt.toISOString()})`,
    );
  }
  const generation =
    current?.generation ??
    Math.max(pointer.live, pointer.previous ?? 0, pointer.last?.generation ?? 0, pointer.highest ?? 0) + 1;
  const building: Building = current
    ? { ...current, owner, heartbeatAt: now }
    : {
        generation,
        owner,
        startedAt: now,
        heartbeatAt: now,
        phase: "waiting for readers",
        copied: 0,
        total: 0,
        rate: 0,
      };
  // Only if the pointer is still as read: two rebuilds starting at once, one wins.
  const taken = await pointers(db).updateOne(
    { _id: model, epoch: pointer.epoch },
    { $set: { building, highest: Math.max(generation, pointer.highest ?? 0) }, $inc: { epoch: 1 } },
  );
  if (taken.modifiedCount !== 1) throw new RebuildRefused(`another rebuild of ${model} started just now`);
  return { building, resumed: current !== undefined, pointer: { ...pointer, epoch: pointer.epoch + 1, building } };
}

/** Records progress and that `owner` is alive; false if the rebuild is no longer its own. */
export async function report(db: Db, model: string, owner: string, progress: Partial<Building>): Promise<boolean> {
  const set: Record<string, unknown> = { "building.heartbeatAt": new Date() };
  for (const [key, value] of Object.entries(progress)) set[`building.${key}`] = value;
  const result = await pointers(db).updateOne({ _id: model, "building.owner": owner }, { $set: set });
  return result.matchedCount === 1;
}

/** Readers present that still write under an epoch older than `epoch` (they may not write the new generation yet). */
export async function readersBehind(db: Db, model: string, epoch: number): Promise<string[]> {
  const now = Date.now();
  const reports = await db.collection<ReaderPresence>(READERS).find({}).toArray();
  // Present: reported within its own presence window (a few of its poll periods).
  const present = reports.filter((reader) => now - reader.at.getTime() < presenceMs(reader.pollMs ?? 0));
  return present.filter((reader) => (reader.epochs[model] ?? 0) < epoch).map((reader) => reader._id);
}

/** Ends the rebuild without switching (verified only, or refused for differences): it can be resumed. */
export async function park(db: Db, model: string, owner: string, last: LastRebuild): Promise<void> {
  await pointers(db).updateOne(
    { _id: model, "building.owner": owner },
    { $set: { last, "building.heartbeatAt": new Date(0) } },
  );
}

/** Makes `generation` live; the live one becomes the previous. Only by the rebuild's owner. */
export async function switchTo(db: Db, model: string, owner: string, epoch: number, last: LastRebuild): Promise<void> {
  const pointer = await pointerOf(db, model);
  const result = await pointers(db).updateOne(
    { _id: model, epoch, "building.owner": owner },
    {
      $set: { live: last.generation, previous: pointer.live, last },
      $unset: { building: "" },
      $inc: { epoch: 1 },
    },
  );
  if (result.modifiedCount !== 1) throw new RebuildRefused(`the pointer of ${model} changed under the switch`);
}

/** Makes the previous generation live again (the live one becomes the previous). */
export async function swapBack(db: Db, pointer: GenerationPointer, last: LastRebuild): Promise<void> {
  const result = await pointers(db).updateOne(
    { _id: pointer._id, epoch: pointer.epoch },
    { $set: { live: pointer.previous, previous: pointer.live, last }, $inc: { epoch: 1 } },
  );
  if (result.modifiedCount !== 1) throw new RebuildRefused(`the pointer of ${pointer._id} changed under the rollback`);
}

/** Raises the epoch alone (a document replaced in place: readers refill it under the new epoch). */
export async function bumpEpoch(db: Db, pointer: GenerationPointer): Promise<void> {
  const result = await pointers(db).updateOne({ _id: pointer._id, epoch: pointer.epoch }, { $inc: { epoch: 1 } });
  if (result.modifiedCount !== 1) throw new RebuildRefused(`the pointer of ${pointer._id} changed meanwhile`);
}

/** Forgets the previous generation (the caller drops its collection once the readers follow). */
export async function forgetPrevious(db: Db, pointer: GenerationPointer): Promise<void> {
  const result = await pointers(db).updateOne(
    { _id: pointer._id, epoch: pointer.epoch },
    { $unset: { previous: "" }, $inc: { epoch: 1 } },
  );
  if (result.modifiedCount !== 1) throw new RebuildRefused(`the pointer of ${pointer._id} changed meanwhile`);
}

/** Abandons a rebuild that is not running (its collection is dropped by the caller). */
export async function abandon(db: Db, pointer: GenerationPointer): Promise<void> {
  const result = await pointers(db).updateOne(
    { _id: pointer._id, epoch: pointer.epoch, "building.owner": pointer.building?.owner },
    { $unset: { building: "" }, $inc: { epoch: 1 } },
  );
  if (result.modifiedCount !== 1) throw new RebuildRefused(`the rebuild of ${pointer._id} changed meanwhile`);
}
