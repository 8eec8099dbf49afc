// The snapshot half of a rebuild: every row of the writer's table, read in one REPEATABLE READ
// transaction (one consistent snapshot), turned into the document the projection would write for the
// event data the writer publishes for it, and written into the new generation.
//
// Live events reach the new generation through the readers (they write both generations while it is
// built), so the snapshot and live events overlap: a document the readers already wrote is left to
// them (they apply every later event in order). Events committed after the snapshot reach it through
// the readers, which wrote both generations before the snapshot began (pointer.ts: readersBehind).
import { asc, count, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import { type Collection, MongoBulkWriteError } from "mongodb";
import type postgres from "postgres";
import type { RebuildSource } from "#functions/rebuild-registry.ts";
import type { ReadModelDoc } from "#shared/read-side/versioned-projection.ts";
import type { AggregateTable, RowState } from "#shared/write-side/aggregate-store.ts";
import * as schema from "#shared/write-side/db/schema.ts";

export interface CopyProgress {
  copied: number;
  total: number;
  lastId: string | undefined;
}

/** The document the projection writes for a row's state. */
export function documentOf(source: RebuildSource, row: Record<string, unknown>): ReadModelDoc {
  const { deletedAt, ...rest } = row;
  const state = { ...rest, deleted: deletedAt !== null } as unknown as RowState<AggregateTable>;
  const data = source.data(state) as { id: string };
  return { _id: data.id, ...source.projection.document(data) } as ReadModelDoc;
}

/**
 * Inserts `docs`; one a reader already wrote (duplicate _id) is left as it is, whichever version it
 * has: FerretDB's replace is a read then a write, so replacing it could put an older version back
 * over a reader's newer one. A reader's older one is brought up by the reader itself, which takes
 * every event after it in order, the snapshot's version included.
 */
async function write(collection: Collection<ReadModelDoc>, docs: ReadModelDoc[]): Promise<void> {
  try {
    await collection.insertMany(docs, { ordered: false });
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    if ([error.writeErrors].flat().some((failure) => failure.code !== 11000)) throw error;
  }
}

/**
 * Copies the rows after `from` (all when undefined) into `collection`, calling `progress` after each
 * page; at most `rate` documents a second when given. Resolves with the progress at the end.
 */
export async function copySnapshot(opts: {
  sql: postgres.Sql;
  source: RebuildSource;
  collection: Collection<ReadModelDoc>;
  from: string | undefined;
  copiedBefore: number;
  rate: number | undefined;
  /** Rows per page of the snapshot, documents per insertMany. */
  pageSize: number;
  progress: (progress: CopyProgress) => Promise<void>;
  interrupted: () => boolean;
}): Promise<CopyProgress> {
  const table = opts.source.table as typeof schema.products;
  const db = drizzle(opts.sql, { schema });
  return db.transaction(
    async (tx) => {
      const [rowCount] = await tx.select({ n: count() }).from(table);
      const state: CopyProgress = {
        copied: opts.copiedBefore,
        total: rowCount?.n ?? 0,
        lastId: opts.from,
      };
      const started = performance.now();
      let sinceStart = 0;
      // The next page is read while the last one is written: PostgreSQL and the read model work at once.
      const page = (after: string | undefined) =>
        tx
          .select()
          .from(table)
          .where(after === undefined ? undefined : gt(table.id, after))
          .orderBy(asc(table.id))
          .limit(opts.pageSize);
      let rows = await page(state.lastId);
      while (rows.length > 0 && !opts.interrupted()) {
        const last = rows.at(-1)?.id;
        const next = rows.length === opts.pageSize ? page(last) : Promise.resolve([]);
        await write(
          opts.collection,
          rows.map((row) => documentOf(opts.source, row)),
        );
        state.copied += rows.length;
        sinceStart += rows.length;
        state.lastId = last;
        await opts.progress({ ...state });
        if (opts.rate !== undefined) {
          const due = started + (sinceStart / opts.rate) * 1000;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        rows = await next;
      }
      return state;
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}
