// db.query.text of the reader's MongoDB spans: the command's shape with every value a "?", as the
// MongoDB instrumentation's default gives it, but bounded. The default serialized the driver's
// command object whole: a projection's bulk write carries its documents as raw BSON buffers too,
// and each of their bytes became a "?" (about 940 kB per span for a batch of 200 products), which
// the reader built, exported and held for every batch.

/** Elements of an array shown before the rest are counted: a bulk write's statements share a shape. */
const SHOWN = 1;
/** The longest text kept; past it, cut with a mark. */
const MAX_CHARS = 4096;

/** `value` with every value a "?", every array shortened to its first elements and a count. */
function scrub(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value !== "object" || value === null) return "?";
  // Raw BSON (a bulk write's documents): one value, never walked byte by byte.
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return "?";
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  if (Array.isArray(value)) {
    const shown = value.slice(0, SHOWN).map((item) => scrub(item, seen));
    return value.length > SHOWN ? [...shown, `... ${value.length - SHOWN} more`] : shown;
  }
  // An ObjectId, a Date, a Long: a value, whatever its JSON.
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return "?";
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrub(item, seen)]));
}

/** The command's shape, values as "?", arrays as their first element and a count of the rest. */
export function mongoStatement(command: unknown): string {
  const text = JSON.stringify(scrub(command, new WeakSet()));
  return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}...` : text;
}
