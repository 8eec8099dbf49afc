// What the pinned @opentelemetry/semantic-conventions says about attribute keys: every key it
// defines, and the ones it marks deprecated (with what replaces them). Read from the package's own
// type declarations, so a version bump that deprecates a key the project sets fails a test.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

export interface SemanticConventions {
  version: string;
  /** Every attribute key the package defines (stable and incubating). */
  keys: ReadonlySet<string>;
  /** Deprecated keys -> the package's note on what replaces them. */
  deprecated: ReadonlyMap<string, string>;
}

/** `/** ... *\/ declare const ATTR_X: "x.y";` blocks: the doc comment and the key. */
const DECLARATION = /\/\*\*((?:(?!\*\/)[\s\S])*?)\*\/\s*declare const ATTR_[A-Z0-9_]+: "([^"]+)"/g;

export function semanticConventions(): SemanticConventions {
  // The package exports no package.json: its main entry sits in dist/, beside the declarations.
  const dist = path.dirname(createRequire(import.meta.url).resolve("@opentelemetry/semantic-conventions"));
  const manifest = path.join(dist, "..", "package.json");
  const keys = new Set<string>();
  const deprecated = new Map<string, string>();
  for (const file of ["stable_attributes.d.mts", "experimental_attributes.d.mts"]) {
    const text = fs.readFileSync(path.join(dist, file), "utf8");
    for (const [, doc = "", key = ""] of text.matchAll(DECLARATION)) {
      keys.add(key);
      const note = /@deprecated\s*([^\n]*)/.exec(doc);
      if (note) deprecated.set(key, note[1]?.trim() ?? "");
    }
  }
  const { version } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { version: string };
  return { version, keys, deprecated };
}
