// What a projection is, for the consumer that drives it (projection-consumer.ts).
import type { Db } from "mongodb";
import type { EventEnvelope } from "../platform/events.ts";
import type { VersionedCache } from "./cache.ts";
import type { Generations } from "./generations.ts";

/** A message that can never be applied: it goes to the dead-letter topic with this reason. */
export class PoisonMessage extends Error {
  override name = "PoisonMessage";
}

export interface ProjectionDeps {
  readModel: Db;
  cache: VersionedCache;
  /** Which generations of each read model a projection writes (shared/read-side/generations.ts). */
  generations: Generations;
}

export interface Projection {
  /** Events of `<aggregateType>-events` come here. */
  aggregateType: string;
  /** The read model it writes, e.g. "products" (the name of its first generation's collection). */
  model: string;
  /** Creates the read model's indexes (every query shape needs one on a real MongoDB). */
  setup(deps: Pick<ProjectionDeps, "readModel" | "generations">): Promise<void>;
  /**
   * Applies one event if it is newer than what the read model has; `stale` if it is not (a
   * duplicate or a replay). Throws PoisonMessage for an event it can never apply; any other error
   * is transient and the event is retried.
   */
  apply(deps: ProjectionDeps, event: EventEnvelope): Promise<"applied" | "stale">;
  /**
   * Applies a poll's worth of events in one write to the read model, still version-guarded: of
   * several versions of one aggregate the highest is written, the others are `stale`; an event
   * that can never be applied is a `poison` outcome with its reason (it fails no other event);
   * the cache entries of exactly the applied ones are invalidated, each through `within(i, ...)`
   * (the consumer runs it in event i's span). Any other error is transient: the whole batch is
   * retried, which the version guard makes harmless.
   */
  applyBatch(
    deps: ProjectionDeps,
    events: readonly EventEnvelope[],
    within?: <T>(index: number, work: () => Promise<T>) => Promise<T>,
  ): Promise<BatchOutcome[]>;
}

export type BatchOutcome = "applied" | "stale" | { poison: string };
