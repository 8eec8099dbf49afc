// schemathesis, the independent fuzzer `npm test` and `npm run fuzz` run against the gateway's own
// OpenAPI document: installed once per machine into a Python virtual environment in the cache
// folder, named by a digest of infra/schemathesis/requirements.txt (every package pinned, installed
// with --no-deps so nothing else comes in). Debian's python3-venv is installed when venv is missing.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { ensurePackage } from "./apt.ts";
import { runTool } from "./process.ts";

const REQUIREMENTS = path.join(import.meta.dirname, "schemathesis", "requirements.txt");

/** The schemathesis executable, installed first if this machine has none of this pinned set. */
export function ensureSchemathesis(cacheDir: string, say: (line: string) => void): string {
  const requirements = fs.readFileSync(REQUIREMENTS, "utf8");
  const digest = createHash("sha256").update(requirements).digest("hex").slice(0, 12);
  const version = /^schemathesis==(\S+)$/m.exec(requirements)?.[1] ?? "unknown";
  const home = path.join(cacheDir, `schemathesis-${version}-${digest}`);
  const executable = path.join(home, "bin", "schemathesis");
  // Written last: a folder without it is an interrupted install, removed and done again.
  const done = path.join(home, ".installed");
  if (fs.existsSync(done)) return executable;

  const started = Date.now();
  say(`installing schemathesis ${version} and its pinned dependencies into ${home}`);
  const venvWorks = () => {
    try {
      runTool("python3", ["-c", "import ensurepip, venv"], { what: "python3 venv check", source: "python3" });
      return true;
    } catch {
      return false;
    }
  };
  if (!venvWorks()) ensurePackage("python3-venv", say);
  fs.rmSync(home, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(home), { recursive: true });
  runTool("python3", ["-m", "venv", home], { what: "python3 -m venv", source: "python3" });
  runTool(
    path.join(home, "bin", "python"),
    ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "-r", REQUIREMENTS],
    { what: "pip install schemathesis", source: "PyPI" },
  );
  fs.writeFileSync(done, `${new Date().toISOString()}\n`);
  say(`schemathesis ${version} installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return executable;
}
