// Installing what the local stack needs from Debian's packages, or saying in one line what to install.
import { spawnSync } from "node:child_process";
import { InfraError, runTool } from "./process.ts";
import type { Requirement } from "./server.ts";

function installed(pkg: string): boolean {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const result = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
  return result.status === 0 && result.stdout.endsWith("install ok installed");
}

/** Where `command` is on PATH, or undefined. */
export function whereIs(command: string): string | undefined {
  const result = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The line that installs Debian package `pkg` (what `ensurePackage` runs as root). */
export function installLine(pkg: string): string {
  return `${process.getuid?.() === 0 ? "" : "sudo "}apt-get install -y ${pkg}`;
}

/** `command` on PATH, from Debian package `pkg`: what `ensureCommand` makes sure of. */
export function commandRequirement(command: string, pkg: string): Requirement {
  return { name: command, found: whereIs(command), fix: `run: ${installLine(pkg)}` };
}

let updated = false;

/** Makes sure `command` exists, installing Debian package `pkg` when we are root. */
export function ensureCommand(command: string, pkg: string, say: (line: string) => void): void {
  if (whereIs(command) !== undefined) return;
  ensurePackage(pkg, say);
  if (whereIs(command) === undefined) throw new InfraError(`'${command}' is still missing after installing ${pkg}`);
}

export function ensurePackage(pkg: string, say: (line: string) => void): void {
  if (installed(pkg)) return;
  if (process.getuid?.() !== 0) {
    throw new InfraError(`${pkg} is not installed; run: ${installLine(pkg)}`);
  }
  say(`installing Debian package ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!updated) {
    runTool("apt-get", ["update", "-qq"], { env, what: "apt-get update", source: "the Debian mirrors" });
    updated = true;
  }
  runTool("apt-get", ["install", "-y", "-qq", "--no-install-recommends", pkg], {
    env,
    what: `apt-get install ${pkg}`,
    source: "the Debian mirrors",
  });
}
