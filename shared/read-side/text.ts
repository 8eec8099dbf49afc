// Search text normalisation: case- and accent-insensitive words, and the word prefixes the read
// model indexes so that every word of a query can match the start of a word ("wid" finds "Widget").
const MAX_PREFIX = 24;

export function normalise(text: string): string {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

export function words(text: string): string[] {
  return normalise(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== "");
}

/** Every prefix of every word (up to MAX_PREFIX characters), each once. */
export function wordPrefixes(...texts: string[]): string[] {
  const out = new Set<string>();
  for (const word of texts.flatMap(words)) {
    // By code point, so a prefix never splits a character outside the Basic Multilingual Plane.
    const chars = [...word];
    for (let end = 1; end <= Math.min(chars.length, MAX_PREFIX); end++) out.add(chars.slice(0, end).join(""));
  }
  return [...out];
}

/** The query words as the prefixes to look up: a word longer than MAX_PREFIX is cut to it. */
export function queryPrefixes(query: string): string[] {
  return [...new Set(words(query).map((word) => [...word].slice(0, MAX_PREFIX).join("")))];
}
