// `npm run invoke` as a user runs it: the script in its own process against the local stack, on a
// database, read model and keys of its own; its output, exit codes and one-line failures.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { after, test } from "node:test";
import { cleanUp, freePort, runId, testConfig, testEnv } from "#tests/support/system.ts";

const script = path.join(import.meta.dirname, "invoke.ts");
const env = testEnv("invoke");

after(async () => {
  await cleanUp(testConfig("invoke"));
});

function invoke(args: string[], extra: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [script, ...args], {
    env: { ...process.env, ...env, ...extra },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const product = (sku: string) =>
  JSON.stringify({ sku, name: "Lamp", description: "", priceCents: 2500, currency: "EUR", stock: 1, tags: [] });

test("--list names every function with its tier and route", () => {
  const { code, stdout } = invoke(["--list"]);
  assert.equal(code, 0);
  const names = stdout
    .trim()
    .split("\n")
    .map((line) => line.split(/\s+/)[0]);
  assert.equal(names.length, 11);
  for (const name of ["CreateProduct", "SearchProducts", "ListProductTags", "CreateUser", "ListUsers"]) {
    assert.ok(names.includes(name), name);
  }
});

test("a command prints its result; the same again is a 409 problem on stderr with exit 1", () => {
  const sku = `INV-${runId.slice(-8)}`;
  const created = invoke(["CreateProduct", product(sku)]);
  assert.equal(created.code, 0, created.stderr);
  const body = JSON.parse(created.stdout) as { id: string; version: number };
  assert.match(body.id, /^[0-9a-f-]{36}$/);
  assert.equal(body.version, 1);

  const again = invoke(["create-product", product(sku)]);
  assert.equal(again.code, 1);
  assert.equal((JSON.parse(again.stderr) as { status: number }).status, 409);
});

test("bad input and an unknown id are problems naming what is wrong", () => {
  const bad = invoke(["CreateProduct", JSON.stringify({ sku: "", priceCents: -1 })]);
  assert.equal(bad.code, 1);
  const problem = JSON.parse(bad.stderr) as { status: number; errors: { path: string }[] };
  assert.equal(problem.status, 400);
  const paths = problem.errors.map((e) => e.path);
  for (const field of ["sku", "priceCents", "name", "currency"]) assert.ok(paths.includes(field), String(paths));

  const missing = invoke(["GetProduct", JSON.stringify({ id: "0190d3f0-0000-7000-8000-000000000000" })]);
  assert.equal(missing.code, 1);
  assert.equal((JSON.parse(missing.stderr) as { status: number }).status, 404);
});

test("usage mistakes exit 2 with one line", () => {
  const unknown = invoke(["NoSuchFunction"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no function 'NoSuchFunction'/);
  const notJson = invoke(["CreateProduct", "{nope"]);
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /the input is not JSON/);
});

test("a database that does not answer is one line with a hint, not a stack trace", async () => {
  const closed = await freePort();
  const { code, stderr } = invoke(["CreateProduct", product("INV-DOWN")], {
    POSTGRES_URL: `postgres://postgres@127.0.0.1:${closed}/none`,
  });
  assert.equal(code, 1);
  assert.match(stderr, /^invoke: CreateProduct failed: .*\(is the local stack up\? npm run infra -- status\)$/m);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
});
