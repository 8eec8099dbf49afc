// What the reader injects into its query handlers. No function builds a client of its own.
import type { Db } from "mongodb";
import type { VersionedCache } from "./cache.ts";
import type { Generations } from "./generations.ts";

export interface ReaderDeps {
  readModel: Db;
  cache: VersionedCache;
  /** Which generation of each read model is live (shared/read-side/generations.ts). */
  generations: Generations;
  clock: () => Date;
  /** Longest a query waits for the projection to reach a requested version. */
  minVersionWaitMs: number;
  /** The server-side time limit of every read-model query (maxTimeMS). */
  queryTimeoutMs: number;
}
