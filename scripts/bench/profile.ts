// `npm run bench -- --profile <scenario>`: the services run with `node --cpu-prof`, and each profile
// is summarised as where the CPU went: the functions with the most self time, and the share of
// each package or project folder.
import fs from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a script belongs: an npm package, a project folder, or Node itself. */
function owner(url: string): string {
  if (url === "") return "(native / idle)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1]) return pkg[1];
  if (url.startsWith("node:")) return "node";
  const project = /\/(functions|shared\/[^/]+|services\/[^/]+|proto|scripts|tests)\//.exec(url);
  return project?.[1] ?? path.basename(url);
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  top: { name: string; where: string; selfMs: number; share: number }[];
  byOwner: { owner: string; selfMs: number; share: number }[];
}

export function summariseProfile(file: string, topN = 12): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const functions = new Map<string, { name: string; where: string; selfMs: number }>();
  const owners = new Map<string, number>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)" || functionName === "(program)" || functionName === "(garbage collector)") {
      // Idle is not work; the program and GC entries are, and keep their names.
      if (functionName === "(idle)") continue;
    }
    totalMs += ms;
    const where = url ? `${url.replace(/^file:\/\//, "").replace(`${process.cwd()}/`, "")}:${lineNumber + 1}` : "";
    const key = `${functionName}@${where}`;
    const entry = functions.get(key) ?? { name: functionName || "(anonymous)", where, selfMs: 0 };
    entry.selfMs += ms;
    functions.set(key, entry);
    const who = owner(url) === "(native / idle)" ? functionName || "(native)" : owner(url);
    owners.set(who, (owners.get(who) ?? 0) + ms);
  }
  const share = (ms: number) => (totalMs > 0 ? ms / totalMs : 0);
  return {
    file,
    totalMs,
    top: [...functions.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, topN)
      .map((f) => ({ ...f, share: share(f.selfMs) })),
    byOwner: [...owners]
      .map(([name, ms]) => ({ owner: name, selfMs: ms, share: share(ms) }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, topN),
  };
}

/** Every profile in `dir`, named by the service whose pid wrote it, as text. */
export function summariseProfiles(dir: string, names: Record<number, string> = {}): string {
  const files = fs.readdirSync(dir).filter((name) => name.endsWith(".cpuprofile"));
  const lines = [`CPU profiles in ${dir}`];
  for (const name of files.sort()) {
    const pid = Number(name.split(".")[3]);
    const summary = summariseProfile(path.join(dir, name));
    lines.push("", `${names[pid] ?? name}: ${summary.totalMs.toFixed(0)} ms of CPU`);
    lines.push("  by package or folder:");
    for (const o of summary.byOwner) lines.push(`    ${(o.share * 100).toFixed(1).padStart(5)}%  ${o.owner}`);
    lines.push("  top functions (self time):");
    for (const f of summary.top) lines.push(`    ${(f.share * 100).toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`);
  }
  return lines.join("\n");
}
