// What a warm `npm ci` leaves in node_modules that nothing here runs or loads, removed right after
// the install (the bootstrap's last line prints what is left):
//
// - the protoc plugins buf ships for protoc users: `npm run generate` runs `buf lint` and
//   `buf generate`, which have lint and breaking-change checks built in (48 MB);
// - prebuilt native addons for other platforms, in packages that ship one file per platform
//   (ts-proto's formatter, dprint-node: 20 MB);
// - the dependencies' source maps: nothing maps a dependency's frames back to its own sources (our
//   bundle's map covers our code); swagger-ui's stay, the docs page serves them (29 MB);
// - the debug symbols of the Kafka client's librdkafka (kafka-addon.mjs strips them: 12 MB).
//
// Plain JavaScript: it runs on whatever Node the machine has, like the bootstrap that calls it.
import fs from "node:fs";
import path from "node:path";

/** Protoc plugins the buf package ships next to `buf`, for use with protoc; this project never runs them. */
export const UNUSED_BINARIES = [
  "@bufbuild/buf-linux-x64/bin/protoc-gen-buf-breaking",
  "@bufbuild/buf-linux-x64/bin/protoc-gen-buf-lint",
  "@bufbuild/buf-linux-arm64/bin/protoc-gen-buf-breaking",
  "@bufbuild/buf-linux-arm64/bin/protoc-gen-buf-lint",
  "@bufbuild/buf-darwin-arm64/bin/protoc-gen-buf-breaking",
  "@bufbuild/buf-darwin-arm64/bin/protoc-gen-buf-lint",
  "@bufbuild/buf-darwin-x64/bin/protoc-gen-buf-breaking",
  "@bufbuild/buf-darwin-x64/bin/protoc-gen-buf-lint",
];

/** Packages whose source maps the project serves (the gateway's docs page: services/gateway/docs.ts). */
const SERVED_MAPS = ["swagger-ui-dist/"];

const PLATFORM_ADDON =
  /\.(darwin|linux|win32|freebsd|android|openbsd|sunos)-(x64|arm64|arm|ia32|riscv64|s390x|ppc64|loong64)(?:-(gnu|musl|msvc|gnueabihf|musleabihf))?\.node$/;

/**
 * Whether a file under node_modules can go: `host` is `{ platform, arch, libc }` with libc "gnu" or
 * "musl" (the names prebuilt addons use).
 */
export function isUnused(relative, host) {
  const file = relative.split(path.sep).join("/");
  if (UNUSED_BINARIES.includes(file) || UNUSED_BINARIES.some((unused) => file.endsWith(`/node_modules/${unused}`)))
    return true;
  if (/\.(js|mjs|cjs|ts|mts|cts|css)\.map$/.test(file)) return !SERVED_MAPS.some((dir) => file.startsWith(dir));
  const addon = PLATFORM_ADDON.exec(path.basename(file));
  if (addon) {
    const [, platform, arch, abi] = addon;
    if (platform !== host.platform || arch !== host.arch) return true;
    return abi !== undefined && !abi.startsWith(host.libc);
  }
  return false;
}

/** The running system's platform, in the names prebuilt addons use. */
export function hostPlatform() {
  const header = process.report?.getReport?.().header;
  return { platform: process.platform, arch: process.arch, libc: header?.glibcVersionRuntime ? "gnu" : "musl" };
}

/** Removes every unused file under `nodeModules`; returns the bytes freed. */
export function trimInstall(nodeModules, host = hostPlatform()) {
  let freed = 0;
  const visit = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.isFile() && isUnused(path.relative(nodeModules, full), host)) {
        freed += fs.statSync(full).size;
        fs.rmSync(full);
      }
    }
  };
  visit(nodeModules);
  return freed;
}
