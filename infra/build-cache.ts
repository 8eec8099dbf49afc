// Where a build or a download lives in the user-level cache: one folder per pinned version and per
// content of the files that define it, so that editing main.go, a go.mod / go.sum or pom.xml builds
// afresh instead of silently reusing what the files' previous content produced.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** The first 8 hex digits of the sha256 of these files' names and contents. */
export function filesHash(files: string[]): string {
  const hash = crypto.createHash("sha256");
  for (const file of [...files].sort()) {
    const content = fs.readFileSync(file);
    hash.update(`${path.basename(file)}\0${content.length}\0`);
    hash.update(content);
  }
  return hash.digest("hex").slice(0, 8);
}

/** `<cacheDir>/<name>-<version>-<hash of files>`, e.g. `ferretdb-1.24.2-1a2b3c4d`. */
export function buildCacheDir(cacheDir: string, name: string, version: string, files: string[]): string {
  return path.join(cacheDir, `${name}-${version}-${filesHash(files)}`);
}
