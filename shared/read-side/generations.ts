// Read-model generations: which collection of a read model is live, and which one a rebuild is
// filling (scripts/rebuild.ts). Generation 1 of `products` is the collection `products`, generation
// n > 1 is `products_g<n>`. A pointer document per read model in `read_model_generations` says which
// is live; every reader follows it:
//
// - queries read the live generation; projections write the live one, the one a rebuild is building
//   (version-guarded, so the rebuild's snapshot and live events overlap harmlessly) and the previous
//   one until it is dropped (so a rollback goes back to a current generation);
// - each change the readers must follow raises the pointer's `epoch`, and a reader never takes a
//   pointer with a lower epoch than the one it holds: a switch is never undone by a late read;
// - a reader refreshes the pointers every GENERATIONS_POLL_MS, and before a projection batch when
//   its copy is older than that; it reports in `read_model_readers` the lowest epoch any of its
//   batches still in flight uses, so a rebuild knows when every live reader writes both generations.
import type { BatchObservableCallback } from "@opentelemetry/api";
import type { Db } from "mongodb";
import type { Log } from "../platform/log.ts";
import { meter } from "../platform/telemetry/metrics.ts";
import { traced } from "./read-model-spans.ts";

export const POINTERS = "read_model_generations";
export const READERS = "read_model_readers";

/** A rebuild in progress, as its pointer records it (progress is written about once a second). */
export interface Building {
  generation: number;
  /** Who runs it, e.g. "rebuild@host:pid", and when it last said it was alive. */
  owner: string;
  startedAt: Date;
  heartbeatAt: Date;
  phase: "waiting for readers" | "copying" | "indexing" | "deriving" | "verifying" | "switching";
  /** Documents written so far, of `total` rows in the snapshot. */
  copied: number;
  total: number;
  /** Documents per second over the copy so far. */
  rate: number;
  /** The last aggregate id copied: a resumed rebuild goes on after it. */
  lastId?: string;
}

export interface LastRebuild {
  generation: number;
  outcome: "switched" | "verified" | "differences" | "rolled back" | "interrupted" | "failed";
  documents: number;
  seconds: number;
  rate: number;
  differences: number;
  at: Date;
}

export interface GenerationPointer {
  /** The read model, e.g. "products". */
  _id: string;
  epoch: number;
  live: number;
  previous?: number;
  building?: Building;
  last?: LastRebuild;
  /** The highest generation number ever given: a number (and its collection) is never reused. */
  highest?: number;
}

export interface ReaderPresence {
  _id: string;
  /** Read model -> the lowest epoch this reader's projections may still write under. */
  epochs: Record<string, number>;
  at: Date;
  /** Its GENERATIONS_POLL_MS: it reports at least that often. */
  pollMs: number;
}

/**
 * How long a reader counts as present after its last report: a few of its poll periods, and never
 * less than 15 s. A reader that cannot report for that long stops projecting (`writing` throws),
 * so one a rebuild no longer waits for never writes the live generation alone.
 */
export const presenceMs = (pollMs: number): number => Math.max(15_000, 3 * pollMs);

/** The collection that holds generation `generation` of `model`. */
export function collectionName(model: string, generation: number): string {
  return generation <= 1 ? model : `${model}_g${generation}`;
}

/** A read model's generations as one reader sees them. */
export interface GenerationView {
  epoch: number;
  live: number;
  building: number | undefined;
  previous: number | undefined;
}

const FIRST: GenerationView = { epoch: 0, live: 1, building: undefined, previous: undefined };

export interface Generations {
  /** The collection queries read: the live generation's. */
  live(model: string): string;
  /** The pointer's epoch this reader holds (cache fills carry it: an older one is refused after a switch). */
  epoch(model: string): number;
  /**
   * Runs a projection's write with the collections it must write (live first, then the one being
   * built and the previous one, while they exist),
   * refreshed first if older than the poll period; until it ends this reader reports no newer epoch.
   */
  writing<T>(model: string, work: (collections: string[]) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Generations as they are when no rebuild ever ran: the base collection, live. For tools and tests. */
export const baseGenerations: Generations = {
  live: (model) => model,
  epoch: () => 0,
  writing: (model, work) => work([model]),
  close: async () => {},
};

export async function followGenerations(opts: {
  db: Db;
  /** This reader's name in `read_model_readers`, e.g. "reader@host:pid". */
  instance: string;
  pollMs: number;
  /** The read models this reader serves: each has its gauges, rebuilt or not. */
  models: readonly string[];
  log: Log;
}): Promise<Generations> {
  const pointers = opts.db.collection<GenerationPointer>(POINTERS);
  const readers = opts.db.collection<ReaderPresence>(READERS);
  const views = new Map<string, GenerationView>();
  const raw = new Map<string, GenerationPointer>();
  /** Epochs of projection writes in flight, per read model. */
  const inFlight = new Map<string, number[]>();
  let refreshedAt = 0;
  let refreshing: Promise<void> | undefined;
  let lastError = 0;

  async function load(): Promise<void> {
    const docs = await traced(pointers, "find", () => pointers.find({}).toArray());
    for (const doc of docs) {
      raw.set(doc._id, doc);
      const held = views.get(doc._id);
      if (held && held.epoch > doc.epoch) continue; // never back to an older pointer
      views.set(doc._id, {
        epoch: doc.epoch,
        live: doc.live,
        building: doc.building?.generation,
        previous: doc.previous,
      });
    }
    refreshedAt = Date.now();
    const epochs: Record<string, number> = {};
    for (const [model, view] of views) epochs[model] = Math.min(view.epoch, ...(inFlight.get(model) ?? []));
    await traced(readers, "updateOne", () =>
      readers.updateOne(
        { _id: opts.instance },
        { $set: { epochs, at: new Date(), pollMs: opts.pollMs } },
        { upsert: true },
      ),
    );
  }

  const refresh = (): Promise<void> => {
    refreshing ??= load()
      .catch((error: unknown) => {
        if (Date.now() - lastError > 10_000) {
          opts.log({
            level: "warn",
            msg: "could not read the read models' generations; keeping the last known",
            err: error,
          });
          lastError = Date.now();
        }
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  };

  // Present before the pointers are read, with no epoch: a rebuild claiming meanwhile waits for it.
  await readers.updateOne(
    { _id: opts.instance },
    { $set: { epochs: {}, at: new Date(), pollMs: opts.pollMs } },
    { upsert: true },
  );
  await load();
  const timer = setInterval(() => void refresh(), opts.pollMs);
  timer.unref();
  const unobserve = observeRebuilds(opts.models, raw);

  const view = (model: string) => views.get(model) ?? FIRST;
  return {
    live: (model) => collectionName(model, view(model).live),
    epoch: (model) => view(model).epoch,
    async writing(model, work) {
      if (Date.now() - refreshedAt >= opts.pollMs) await refresh();
      // Past its presence window a rebuild may stop waiting for it: half-way there, it writes nothing
      // more (the batch is retried until the pointers can be read again), leaving the other half to
      // any batch still in flight.
      const silent = Date.now() - refreshedAt;
      if (silent >= presenceMs(opts.pollMs) / 2) {
        throw new Error(`the read models' generations could not be read for ${Math.round(silent / 1000)} s`);
      }
      const current = view(model);
      const epochs = inFlight.get(model) ?? [];
      epochs.push(current.epoch);
      inFlight.set(model, epochs);
      try {
        const generations = new Set([current.live, current.building ?? current.live, current.previous ?? current.live]);
        return await work([...generations].map((generation) => collectionName(model, generation)));
      } finally {
        epochs.splice(epochs.indexOf(current.epoch), 1);
      }
    },
    async close() {
      clearInterval(timer);
      unobserve();
      await refreshing;
      await readers.deleteOne({ _id: opts.instance }).catch(() => undefined);
    },
  };
}

/** The rebuilds' progress and last results as gauges, from the pointers the reader already follows. */
function observeRebuilds(models: readonly string[], pointers: Map<string, GenerationPointer>): () => void {
  const m = meter();
  const live = m.createObservableGauge("cqrs.read_model.generation", {
    description: "The live generation of each read model",
  });
  const copied = m.createObservableGauge("cqrs.rebuild.copied", {
    description: "Documents a running rebuild has written, of cqrs.rebuild.total",
  });
  const total = m.createObservableGauge("cqrs.rebuild.total", { description: "Rows in a running rebuild's snapshot" });
  const rate = m.createObservableGauge("cqrs.rebuild.rate", {
    description: "Documents per second of the running rebuild, or of the last one",
  });
  const lastSeconds = m.createObservableGauge("cqrs.rebuild.last.duration", {
    description: "How long the last rebuild took",
    unit: "s",
  });
  const lastDifferences = m.createObservableGauge("cqrs.rebuild.last.differences", {
    description: "Documents the last rebuild's verification found different from the live generation",
  });
  const instruments = [live, copied, total, rate, lastSeconds, lastDifferences];
  const callback: BatchObservableCallback = (result) => {
    for (const model of models) {
      const pointer = pointers.get(model);
      const attributes = { "cqrs.read_model": model };
      result.observe(live, pointer?.live ?? 1, attributes);
      result.observe(copied, pointer?.building?.copied ?? 0, attributes);
      result.observe(total, pointer?.building?.total ?? 0, attributes);
      result.observe(rate, pointer?.building?.rate ?? pointer?.last?.rate ?? 0, attributes);
      // "none" until the read model's first rebuild.
      const outcome = { ...attributes, "cqrs.rebuild.outcome": pointer?.last?.outcome ?? "none" };
      result.observe(lastSeconds, pointer?.last?.seconds ?? 0, outcome);
      result.observe(lastDifferences, pointer?.last?.differences ?? 0, outcome);
    }
  };
  m.addBatchObservableCallback(callback, instruments);
  return () => m.removeBatchObservableCallback(callback, instruments);
}
