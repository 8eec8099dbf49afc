// What the writer injects into its command handlers. No function builds a client of its own.
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgTransaction } from "drizzle-orm/pg-core";
import type { PostgresJsQueryResultHKT } from "drizzle-orm/postgres-js";
import type * as schema from "./db/schema.ts";

/** The database or a transaction on it: a middleware may run a handler inside its own transaction. */
export type WriterDb = PgDatabase<PostgresJsQueryResultHKT, typeof schema>;
export type WriterTx = PgTransaction<
  PostgresJsQueryResultHKT,
  typeof schema,
  ExtractTablesWithRelations<typeof schema>
>;

export interface WriterDeps {
  db: WriterDb;
  clock: () => Date;
  newId: () => string;
}
