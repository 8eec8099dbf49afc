// The container images run esbuild bundles (dist/<service>.js, preceded by the service's telemetry
// preload dist/preload-<service>.js) with native and instrumented packages external. No engine runs
// images here, so this starts each bundle natively on the local stack, as the image's command does,
// from a folder laid out by the same step as its image (stageRuntime: only the files of dist/ that
// service runs, drizzle/ beside them for the writer, the cut package.json; node_modules is linked to
// the checkout's), sends a product through the bundled gateway, checks that each bundle serves its
// metrics (so the preload's telemetry is the one the service reports through), and stops each bundle
// with SIGTERM, expecting a clean exit. A chunk missing from a service's files fails here.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { bundle, outputFile, preloadFile, SERVICES, type Service, stageRuntime } from "#scripts/bundle.ts";
import { NODE_FLAGS } from "#services/launch.ts";
import { loadConfig } from "#shared/platform/config.ts";
import { adminHeaders } from "../support/auth.ts";
import {
  type ProcessSystemEnv,
  processEnv,
  type ServiceProcess,
  spawnService,
  waitReady,
} from "../support/processes.ts";
import { cleanUp, eventually } from "../support/system.ts";

const root = path.resolve(import.meta.dirname, "../..");
const running = new Map<Service, ServiceProcess>();
let system: ProcessSystemEnv | undefined;
let staged = "";
/** The dist/ of one service's staged image. */
const distOf = (service: Service) => path.join(staged, service, "dist");

function start(service: Service, env: Record<string, string>): ServiceProcess {
  // The image's command: `node <NODE_FLAGS> --enable-source-maps --import ./dist/preload-<service>.js
  // dist/<service>.js`.
  const started = spawnService(
    service,
    // No MIGRATIONS_DIR: the writer finds drizzle/ beside dist/ by default, as in the image.
    // The keys the test mints its token with (the staged image's own state folder would have others).
    {
      MIGRATIONS_DIR: undefined,
      OTEL_SDK_DISABLED: undefined,
      AUTH_KEYS_DIR: loadConfig().auth.keysDir,
      ...env,
      OTEL_SERVICE_NAME: service,
    },
    [
      ...NODE_FLAGS,
      "--enable-source-maps",
      "--import",
      preloadFile(service, distOf(service)),
      outputFile(service, distOf(service)),
    ],
  );
  running.set(service, started);
  return started;
}

before(async () => {
  const written = await bundle();
  assert.deepEqual(
    written.filter((w) => w.name !== "chunk").map((w) => w.name),
    [...SERVICES, ...SERVICES.map((service) => `preload-${service}`)],
  );
  staged = fs.mkdtempSync(path.join(os.tmpdir(), "bundles-"));
  for (const service of SERVICES) {
    stageRuntime(service, path.join(staged, service));
    fs.symlinkSync(path.join(root, "node_modules"), path.join(staged, service, "node_modules"), "dir");
  }
  system = await processEnv("bundles");
});

after(async () => {
  for (const service of running.values()) if (service.child.exitCode === null) service.child.kill("SIGKILL");
  if (system) await cleanUp(loadConfig({ ...process.env, ...system.env }));
  if (staged !== "") fs.rmSync(staged, { recursive: true, force: true });
});

test("the image runs each service with the V8 flags npm start and the tests use (NODE_FLAGS)", () => {
  const dockerfile = fs.readFileSync(path.join(root, "Dockerfile"), "utf8");
  const command = /^CMD \["sh", "-c", "exec node (.*)"\]$/m.exec(dockerfile)?.[1];
  assert.ok(command, "the runtime stage's CMD runs node through sh");
  assert.equal(command.split(" ").slice(0, NODE_FLAGS.length).join(" "), NODE_FLAGS.join(" "), command);
});

test("each bundle starts on the local stack, serves a create and a read, and stops on SIGTERM", async () => {
  assert.ok(system);
  const { env, urls, metricsUrls } = system;
  for (const service of ["writer", "reader", "gateway"] as const) {
    await waitReady(start(service, env), `${urls[service]}/readyz`);
  }
  const base = urls.gateway;

  const created = await fetch(`${base}/api/v1/products`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await adminHeaders()) },
    body: JSON.stringify({ sku: "BUNDLE-1", name: "Bundled Widget", priceCents: 500, currency: "EUR" }),
  });
  assert.equal(created.status, 201);
  const { id } = (await created.json()) as { id: string };
  const product = await eventually("the product through the bundled reader", async () => {
    const read = await fetch(`${base}/api/v1/products/${id}`);
    return read.status === 200 ? ((await read.json()) as { name: string }) : undefined;
  });
  assert.equal(product.name, "Bundled Widget");

  // Each bundle reports the telemetry its preload started: a bundle that carried its own copy of the
  // telemetry setup would answer "# telemetry is off" here.
  for (const service of SERVICES) {
    const text = await eventually(`${service} bundle's /metrics`, async () => {
      const response = await fetch(`${metricsUrls[service]}/metrics`).catch(() => undefined);
      const body = response?.ok ? await response.text() : "";
      return /^process_memory_usage_bytes\{/m.test(body) ? body : undefined;
    });
    assert.match(
      text,
      new RegExp(`^target_info\\{[^}]*service_name="${service}"`, "m"),
      `${service} reports its own name`,
    );
  }

  for (const service of ["gateway", "reader", "writer"] as const) {
    const started = running.get(service);
    assert.ok(started);
    assert.equal(await started.stop(), 0, `${service} exit code; output:\n${started.tail()}`);
    assert.match(started.tail(), /"msg":"stopped"/);
  }
});
