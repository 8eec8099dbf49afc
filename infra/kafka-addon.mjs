// The Kafka client's native addon (librdkafka and its Node binding), built once per machine.
//
// @confluentinc/kafka-javascript compiles librdkafka from source when it is installed: about 90 s of
// the two cores, and 264 MB of objects and archives left in node_modules. The bootstrap installs
// with `--ignore-scripts`, then restores the addon from the user cache, keyed by the package's
// version, the Node ABI, the platform and the linking; only on a miss does it build (and keep the
// result for the next clone). Either way the build's intermediate files and the libraries' debug
// symbols are removed and the sources kept, so `npm rebuild @confluentinc/kafka-javascript` still
// builds it afresh.
//
// Plain JavaScript: it runs on whatever Node the machine has, like the bootstrap that calls it.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const KAFKA_PACKAGE = "@confluentinc/kafka-javascript";

/** What the addon needs at run time, relative to the package (the binding finds the libraries by RUNPATH). */
export const ADDON_FILES = [
  "build/Release/confluent-kafka-javascript.node",
  "build/deps/librdkafka.so.1",
  "build/deps/librdkafka++.so.1",
];

/** The cache folder's name: everything the built files depend on. */
export function addonKey({ version, abi, platform, arch, libc, linking }) {
  return `${version}-node-abi${abi}-${platform}-${arch}-${libc}-${linking}`;
}

/** Build output that nothing loads: objects, archives, dependency files, the sources' own libraries. */
export function isIntermediate(relative) {
  const name = path.basename(relative);
  if (/\.(o|a|d|lo)$/.test(name)) return true;
  // librdkafka's source tree keeps its own copies of the libraries (and -dbg variants); build/deps has the ones loaded.
  return relative.startsWith(`deps${path.sep}`) && /\.so(\.\d+)?$/.test(name);
}

function walk(dir, base, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, base, out);
    else out.push(path.relative(base, full));
  }
  return out;
}

/** Removes the build's intermediate files; returns the bytes freed. */
export function pruneIntermediates(packageDir) {
  let freed = 0;
  for (const dir of ["build/Release/obj.target", "build/Release/.deps"]) {
    const full = path.join(packageDir, dir);
    if (!fs.existsSync(full)) continue;
    for (const file of walk(full, full, [])) freed += fs.lstatSync(path.join(full, file)).size;
    fs.rmSync(full, { recursive: true, force: true });
  }
  for (const relative of walk(packageDir, packageDir, [])) {
    if (!isIntermediate(relative)) continue;
    const full = path.join(packageDir, relative);
    freed += fs.lstatSync(full).size;
    fs.rmSync(full);
  }
  return freed;
}

/**
 * Strips the debug symbols of the libraries the binding loads (librdkafka: 13 → 3 MB), when binutils'
 * `strip` is there (the build needs a compiler, so it usually is); returns the bytes freed.
 */
export function stripLibraries(packageDir) {
  let freed = 0;
  for (const file of ADDON_FILES) {
    const full = path.join(packageDir, file);
    const before = fs.statSync(full).size;
    const result = spawnSync("strip", ["--strip-unneeded", full], { encoding: "utf8" });
    if (result.status === 0) freed += before - fs.statSync(full).size;
  }
  return freed;
}

/** The libc the running system uses (the addon links against it). */
function libcOf() {
  const header = process.report?.getReport?.().header;
  return header?.glibcVersionRuntime ? "glibc" : "musl";
}

function loads(nodeBin, root, env) {
  const result = spawnSync(nodeBin, ["-e", `require(${JSON.stringify(KAFKA_PACKAGE)})`], {
    cwd: root,
    env,
    encoding: "utf8",
  });
  return result.status === 0;
}

/**
 * Makes the installed package's addon present: from the cache, else built (and cached). `run`
 * runs a command or throws; `say` prints one progress line.
 */
export function ensureKafkaAddon({ root, cacheDir, nodeBin, env, run, say }) {
  const packageDir = path.join(root, "node_modules", ...KAFKA_PACKAGE.split("/"));
  const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8"));
  const abi = spawnSync(nodeBin, ["-p", "process.versions.modules"], { encoding: "utf8" }).stdout.trim();
  const key = addonKey({
    version,
    abi,
    platform: process.platform,
    arch: process.arch,
    libc: libcOf(),
    linking: env.CKJS_LINKING ?? "bundled",
  });
  const cached = path.join(cacheDir, "kafka-addon", key);
  if (ADDON_FILES.every((file) => fs.existsSync(path.join(cached, file)))) {
    for (const file of ADDON_FILES) {
      fs.mkdirSync(path.dirname(path.join(packageDir, file)), { recursive: true });
      fs.copyFileSync(path.join(cached, file), path.join(packageDir, file));
    }
    stripLibraries(packageDir);
    if (loads(nodeBin, root, env)) {
      say(`Kafka client: native addon ${key} from the cache (${cached})`);
      return;
    }
    say(`Kafka client: the cached addon ${key} does not load here; building it`);
  }
  say("Kafka client: building librdkafka and its binding from source (about 90 s; cached for the next clone)");
  const started = Date.now();
  run("npm", ["rebuild", KAFKA_PACKAGE, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: root,
    // From source, always: a prebuilt download would link differently from what the key says.
    env: { ...env, npm_config_build_from_source: KAFKA_PACKAGE },
  });
  const freed = pruneIntermediates(packageDir) + stripLibraries(packageDir);
  say(
    `Kafka client: built in ${((Date.now() - started) / 1000).toFixed(0)} s; ${(freed / 2 ** 20).toFixed(0)} MB of intermediate files and debug symbols removed`,
  );
  // Written aside, then renamed: a concurrent or interrupted bootstrap never sees half a cache entry.
  const staging = `${cached}.${process.pid}.tmp`;
  fs.rmSync(staging, { recursive: true, force: true });
  for (const file of ADDON_FILES) {
    fs.mkdirSync(path.dirname(path.join(staging, file)), { recursive: true });
    fs.copyFileSync(path.join(packageDir, file), path.join(staging, file));
  }
  fs.rmSync(cached, { recursive: true, force: true });
  fs.renameSync(staging, cached);
}
