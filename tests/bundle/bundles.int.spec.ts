// The container images run esbuild bundles (dist/<service>.js, preceded by the telemetry preload
// dist/preload.js) with native and instrumented packages external. No engine runs images here, so
// this starts each bundle natively on the local stack, as the image's command does (same files, same
// layout: dist/ beside drizzle/, `--import ./dist/preload.js`), sends a product through the bundled
// gateway, checks that each bundle serves its metrics (so the preload's telemetry is the one the
// service reports through), and stops each bundle with SIGTERM, expecting a clean exit.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { bundle, outputFile, preloadFile, SERVICES, type Service } from "../../scripts/bundle.ts";
import { loadConfig } from "../../shared/config.ts";
import { cleanUp, eventually, freePort, testEnv } from "../support/system.ts";

const root = path.resolve(import.meta.dirname, "../..");
const children = new Map<string, ChildProcess>();
const output = new Map<string, string>();
let env: Record<string, string> = {};

function start(service: Service): ChildProcess {
  // The image's command: `node --enable-source-maps --import ./dist/preload.js dist/<service>.js`.
  const preload = `./${path.relative(root, preloadFile())}`;
  const child = spawn(process.execPath, ["--enable-source-maps", "--import", preload, outputFile(service)], {
    cwd: root,
    // No MIGRATIONS_DIR: the writer finds drizzle/ beside dist/ by default, as in the image.
    env: {
      ...process.env,
      MIGRATIONS_DIR: undefined,
      OTEL_SDK_DISABLED: undefined,
      ...env,
      OTEL_SERVICE_NAME: service,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  output.set(service, "");
  const collect = (chunk: Buffer) => output.set(service, (output.get(service) ?? "") + chunk.toString());
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  children.set(service, child);
  return child;
}

async function ready(url: string, service: Service): Promise<void> {
  await eventually(
    `${service} bundle ready at ${url}`,
    async () => {
      const child = children.get(service);
      if (child?.exitCode !== null) throw new Error(`${service} exited:\n${output.get(service)}`);
      const ok = await fetch(url).then(
        (r) => r.ok,
        () => false,
      );
      return ok ? true : undefined;
    },
    60_000,
  );
}

before(async () => {
  const written = await bundle();
  assert.deepEqual(
    written.filter((w) => w.name !== "chunk").map((w) => w.name),
    [...SERVICES, "preload"],
  );
  const [writerPort, writerHttp, readerPort, readerHttp, gatewayPort] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  env = testEnv("bundles", {
    WRITER_PORT: String(writerPort),
    WRITER_HTTP_PORT: String(writerHttp),
    WRITER_ADDRESS: `127.0.0.1:${writerPort}`,
    READER_PORT: String(readerPort),
    READER_HTTP_PORT: String(readerHttp),
    READER_ADDRESS: `127.0.0.1:${readerPort}`,
    GATEWAY_PORT: String(gatewayPort),
  });
});

after(async () => {
  for (const child of children.values()) if (child.exitCode === null) child.kill("SIGKILL");
  await cleanUp(loadConfig({ ...process.env, ...env }));
});

test("each bundle starts on the local stack, serves a create and a read, and stops on SIGTERM", async () => {
  start("writer");
  await ready(`http://127.0.0.1:${env.WRITER_HTTP_PORT}/readyz`, "writer");
  start("reader");
  await ready(`http://127.0.0.1:${env.READER_HTTP_PORT}/readyz`, "reader");
  start("gateway");
  const base = `http://127.0.0.1:${env.GATEWAY_PORT}`;
  await ready(`${base}/readyz`, "gateway");

  const created = await fetch(`${base}/api/v1/products`, {
    method: "POST",
    headers: { "content-type": "application/json" },
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
  const metricsUrls = {
    gateway: `${base}/metrics`,
    writer: `http://127.0.0.1:${env.WRITER_HTTP_PORT}/metrics`,
    reader: `http://127.0.0.1:${env.READER_HTTP_PORT}/metrics`,
  } as const;
  for (const service of SERVICES) {
    const text = await eventually(`${service} bundle's /metrics`, async () => {
      const response = await fetch(metricsUrls[service]).catch(() => undefined);
      const body = response?.ok ? await response.text() : "";
      return /^process_memory_usage\{/m.test(body) ? body : undefined;
    });
    assert.match(
      text,
      new RegExp(`^target_info\\{[^}]*service_name="${service}"`, "m"),
      `${service} reports its own name`,
    );
  }

  for (const service of ["gateway", "reader", "writer"] as const) {
    const child = children.get(service);
    assert.ok(child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0, `${service} exit code; output:\n${output.get(service)}`);
    assert.match(output.get(service) ?? "", /"msg":"stopped"/);
  }
});
