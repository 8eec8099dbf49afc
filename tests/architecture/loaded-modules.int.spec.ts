// The running processes' half of the proof that each tier loads only its own code (the bundles' half
// is tests/bundle/bundle-contents.unit.spec.ts, with the same rules from loaded-modules.ts). Starts
// the three services exactly as `npm start` does (services/launch.ts: the telemetry preload, then the
// service's entry) with the module recorder loaded first, on the local stack and on data of their own,
// sends a create and a read through the gateway so that code loaded only on a request is loaded too,
// stops them with SIGTERM, and holds what each process loaded to its rules. Type-only imports never
// reach Node, so they never count; dynamic imports and require() do.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { type ServiceName, serviceArgs } from "#services/launch.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { adminHeaders } from "../support/auth.ts";
import {
  type ProcessSystemEnv,
  processEnv,
  type ServiceProcess,
  spawnService,
  waitReady,
} from "../support/processes.ts";
import { RECORD_ENV } from "../support/record-loaded-modules.ts";
import { cleanUp, eventually } from "../support/system.ts";
import { explain, judge, readRecording } from "./loaded-modules.ts";

const recorder = path.resolve(import.meta.dirname, "../support/record-loaded-modules.ts");
const SERVICES: readonly ServiceName[] = ["writer", "reader", "gateway"];

let system: ProcessSystemEnv | undefined;
let recordings = "";
const running = new Map<ServiceName, ServiceProcess>();
const recordingOf = (service: ServiceName) => path.join(recordings, `${service}.jsonl`);

before(async () => {
  recordings = fs.mkdtempSync(path.join(os.tmpdir(), "loaded-modules-"));
  system = await processEnv("loaded_modules");
  const { env, urls } = system;
  // Writer and reader first: the gateway is ready only once it reaches both.
  for (const service of SERVICES) {
    const started = spawnService(
      service,
      // Telemetry on, as in production: what its preload loads is part of the check.
      { OTEL_SDK_DISABLED: undefined, ...env, OTEL_SERVICE_NAME: service, [RECORD_ENV]: recordingOf(service) },
      ["--import", recorder, ...serviceArgs(service)],
    );
    running.set(service, started);
    await waitReady(started, `${urls[service]}/readyz`);
  }

  const created = await fetch(`${urls.gateway}/api/v1/products`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await adminHeaders()) },
    body: JSON.stringify({ sku: "LOADED-1", name: "Loaded Widget", priceCents: 700, currency: "EUR" }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const { id } = (await created.json()) as { id: string };
  // The reader answers 404 until its projection has the product; joining its consumer group first
  // can take a while on a busy machine.
  await eventually(
    "the product read back through the gateway",
    async () => ((await fetch(`${urls.gateway}/api/v1/products/${id}`)).status === 200 ? true : undefined),
    60_000,
  );

  // The services write their lists on exit; the gateway stops first, as it depends on the others.
  for (const service of [...SERVICES].reverse()) {
    const started = running.get(service);
    assert.ok(started);
    assert.equal(await started.stop(), 0, `${service} exit code; output:\n${started.tail()}`);
  }
});

after(async () => {
  for (const service of running.values()) if (service.child.exitCode === null) service.child.kill("SIGKILL");
  if (system) await cleanUp(loadConfig({ ...process.env, ...system.env }));
  if (recordings !== "") fs.rmSync(recordings, { recursive: true, force: true });
});

const RULE = {
  gateway: "the gateway loads no store, handler, database or Kafka client",
  writer: "the writer loads nothing of the read side",
  reader: "the reader loads nothing of the write side",
} as const satisfies Record<ServiceName, string>;

for (const service of ["gateway", "writer", "reader"] as const) {
  test(`${RULE[service]} (started as npm start does, after a create and a read)`, () => {
    const file = recordingOf(service);
    assert.ok(fs.existsSync(file), `${service} wrote no list of loaded modules to ${file}`);
    const failure = explain(service, "loaded", judge(service, readRecording(file)));
    if (failure) assert.fail(failure);
  });
}
