// The bundles' half of the proof that each tier loads only its own code (the running processes' half
// is tests/architecture/loaded-modules.int.spec.ts, with the same rules). Bundles the services as
// `npm run bundle` does, into a temporary folder, and follows each service's entry and telemetry
// preload through esbuild's metafile: the chunks they import, statically or dynamically, the sources
// those chunks hold and the packages they import. All of them are held to the service's rules, and
// the packages to the service's EXTERNALS, which are what its image installs.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Metafile } from "esbuild";
import {
  bundle,
  EXTERNALS,
  FOUND_AT_RUN_TIME,
  metafileFile,
  packageName,
  SERVICES,
  type ServiceContents,
  serviceContents,
} from "#scripts/bundle.ts";
import { explain, judge, type ModuleRecord } from "../architecture/loaded-modules.ts";

let outDir = "";
let metafile: Metafile | undefined;

before(async () => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-contents-"));
  await bundle(SERVICES, outDir);
  metafile = JSON.parse(fs.readFileSync(metafileFile(outDir), "utf8"));
});

after(() => {
  if (outDir !== "") fs.rmSync(outDir, { recursive: true, force: true });
});

/**
 * The sources and packages a service's files reach (a package the bundle leaves external named like
 * an installed one, node_modules/<name>), each with a module that imports it: one the service
 * reaches if there is one, else any (esbuild leaves a re-exporting module it dropped out of the
 * outputs' inputs).
 */
function reachedModules(meta: Metafile, contents: ServiceContents): ModuleRecord[] {
  const reached = new Set(contents.inputs);
  const from = new Map<string, string>();
  const importers = [...contents.inputs, ...Object.keys(meta.inputs).filter((input) => !reached.has(input))];
  for (const input of importers) {
    for (const imported of meta.inputs[input]?.imports ?? []) {
      const name = imported.external ? packageName(imported.path) : undefined;
      if (imported.external && name === undefined) continue;
      const id = name === undefined ? imported.path : `node_modules/${name}`;
      if (!from.has(id)) from.set(id, input);
    }
  }
  const ids = [...contents.inputs, ...contents.packages.map((name) => `node_modules/${name}`)];
  return ids.map((id) => ({ id, from: from.get(id) }));
}

describe("each service's bundle", () => {
  for (const service of SERVICES) {
    test(`${service}: its entry, preload and the chunks they import hold nothing it must not load`, () => {
      assert.ok(metafile);
      const contents = serviceContents(metafile, service, outDir);
      const failure = explain(service, "bundle reaches", judge(service, reachedModules(metafile, contents)));
      if (failure) assert.fail(failure);
    });

    test(`${service}: its image installs exactly the packages its bundle imports`, () => {
      assert.ok(metafile);
      const { packages } = serviceContents(metafile, service, outDir);
      const installed = EXTERNALS[service].filter((name) => !FOUND_AT_RUN_TIME.includes(name)).sort();
      assert.deepEqual(
        { missingFromExternals: packages.filter((name) => !installed.includes(name)) },
        { missingFromExternals: [] },
        `${service}'s bundle imports packages its image would not install (add them to EXTERNALS.${service})`,
      );
      assert.deepEqual(
        { neverImported: installed.filter((name) => !packages.includes(name)) },
        { neverImported: [] },
        `EXTERNALS.${service} lists packages its bundle never imports (dead weight in its image)`,
      );
    });
  }
});

test("serviceContents follows static and dynamic imports of chunks, and only those", () => {
  const dir = path.join(os.tmpdir(), "probe-dist");
  const key = (file: string) => path.relative(path.resolve(import.meta.dirname, "../.."), path.join(dir, file));
  const output = (imports: Metafile["outputs"][string]["imports"], inputs: string[]) => ({
    bytes: 1,
    inputs: Object.fromEntries(inputs.map((input) => [input, { bytesInOutput: 1 }])),
    imports,
    exports: [],
  });
  const probe: Metafile = {
    inputs: {},
    outputs: {
      [key("gateway.js")]: output(
        [
          { path: key("chunk-static.js"), kind: "import-statement" },
          { path: key("chunk-dynamic.js"), kind: "dynamic-import" },
          { path: "node:fs", kind: "import-statement", external: true },
        ],
        ["services/gateway/main.ts"],
      ),
      [key("preload-gateway.js")]: output([], ["shared/platform/telemetry/preload-gateway.ts"]),
      [key("chunk-static.js")]: output([{ path: "hono/tiny", kind: "import-statement", external: true }], ["a.ts"]),
      [key("chunk-dynamic.js")]: output(
        [{ path: "@scope/lazy/x.js", kind: "dynamic-import", external: true }],
        ["b.ts"],
      ),
      [key("chunk-other.js")]: output([{ path: "mongodb", kind: "import-statement", external: true }], ["c.ts"]),
    },
  };
  const contents = serviceContents(probe, "gateway", dir);
  assert.deepEqual(
    contents.files.map((file) => path.basename(file)),
    ["chunk-dynamic.js", "chunk-static.js", "gateway.js", "preload-gateway.js"],
  );
  assert.deepEqual(contents.inputs, [
    "a.ts",
    "b.ts",
    "services/gateway/main.ts",
    "shared/platform/telemetry/preload-gateway.ts",
  ]);
  assert.deepEqual(contents.packages, ["@scope/lazy", "hono"]);
});
