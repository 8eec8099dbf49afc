// Reading an ordered bulk write's failure: whether it stopped on a duplicate key (E11000) alone.
import { MongoBulkWriteError } from "mongodb";

/**
 * The index (into the writes sent) of the one write an ordered bulk write failed on with a
 * duplicate key; undefined for any other failure. The writes before it were applied, it and the
 * ones after it were not.
 */
export function duplicateKeyAt(error: unknown): number | undefined {
  if (!(error instanceof MongoBulkWriteError)) return undefined;
  const [failed, ...more] = [error.writeErrors].flat();
  if (failed === undefined || more.length > 0 || failed.code !== 11000) return undefined;
  return failed.index;
}
