// Products end to end, through the gateway's HTTP API only: HTTP -> gRPC -> writer -> PostgreSQL
// (row + outbox) -> relay -> Kafka -> projection -> MongoDB-wire read model (+ Redis) -> reader ->
// gRPC -> HTTP. Runs against its own isolated system, or against E2E_GATEWAY_URL (the compose run).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { adminHeaders } from "../support/auth.ts";
import { callJson, deleteOnceListed, type Json } from "../support/http.ts";
import { eventually, runId, startSystem, type TestSystem } from "../support/system.ts";

let system: TestSystem | undefined;
let base = process.env.E2E_GATEWAY_URL ?? "";
// Against a shared gateway, skus must not collide with another run's.
const tag = `e2e${runId.slice(-6)}${Date.now().toString(36)}`;
let skuCounter = 0;
const sku = (stem: string) => `${tag}-${stem}-${++skuCounter}`;

before(async () => {
  if (!base) {
    system = await startSystem("products_e2e");
    base = system.url;
  }
});

after(async () => {
  await system?.stop();
});

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Json> =>
  callJson(base, method, path, body, headers);

function newProduct(overrides: Record<string, unknown> = {}) {
  return { sku: sku("p"), name: "Widget", priceCents: 1000, currency: "EUR", tags: [tag], ...overrides };
}

async function create(overrides: Record<string, unknown> = {}): Promise<{ id: string; version: number }> {
  const created = await call("POST", "/api/v1/products", newProduct(overrides));
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { id: String(created.body.id), version: Number(created.body.version) };
}

/** Waits until GET shows at least `version` (or 404 when `gone`). */
function readAt(id: string, version: number): Promise<Json> {
  return eventually(`product ${id} at version ${version}`, async () => {
    const read = await call("GET", `/api/v1/products/${id}`);
    return read.status === 200 && Number(read.body.version) >= version ? read : undefined;
  });
}

describe("products through the gateway", () => {
  test("create, then the product is eventually readable with its ETag", async () => {
    const created = await call("POST", "/api/v1/products", newProduct({ name: "Blue Widget", description: "Sturdy" }));
    assert.equal(created.status, 201);
    assert.equal(created.body.version, 1);
    assert.match(String(created.body.id), /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/, "a UUIDv7");
    assert.equal(created.headers.get("location"), `/api/v1/products/${created.body.id}`);
    const read = await readAt(String(created.body.id), 1);
    assert.equal(read.headers.get("etag"), '"1"');
    assert.equal(read.body.name, "Blue Widget");
    assert.equal(read.body.description, "Sturdy");
    assert.equal(read.body.priceCents, 1000);
    assert.equal(read.body.stock, 0);
    assert.deepEqual(read.body.tags, [tag]);
    assert.ok(Date.parse(String(read.body.createdAt)) > 0);
  });

  test("a taken sku is a 409, and nothing is half-written", async () => {
    const taken = sku("taken");
    const first = await create({ sku: taken });
    const second = await call("POST", "/api/v1/products", newProduct({ sku: taken }));
    assert.equal(second.status, 409);
    assert.equal(second.headers.get("content-type"), "application/problem+json");
    assert.deepEqual(
      (second.body.errors as { path: string }[]).map((e) => e.path),
      ["sku"],
    );
    await readAt(first.id, 1);
  });

  test("update with a stale If-Match is a 412 and leaves the product unchanged", async () => {
    const { id } = await create({ name: "Original" });
    const updated = await call("PATCH", `/api/v1/products/${id}`, { name: "Changed" }, { "If-Match": '"1"' });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.version, 2);
    assert.equal(updated.headers.get("etag"), '"2"');
    const stale = await call("PATCH", `/api/v1/products/${id}`, { name: "Stale" }, { "If-Match": '"1"' });
    assert.equal(stale.status, 412);
    const read = await readAt(id, 2);
    assert.equal(read.body.name, "Changed");
    assert.equal(read.body.version, 2);
  });

  test("concurrent updates with the same If-Match: exactly one wins", async () => {
    const { id } = await create();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call("PATCH", `/api/v1/products/${id}`, { stock: i + 1 }, { "If-Match": '"1"' }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 412, 412, 412, 412, 412]);
    const winner = results.find((r) => r.status === 200);
    const read = await readAt(id, 2);
    assert.equal(read.body.version, 2);
    assert.ok(winner);
    assert.equal(read.body.stock, results.indexOf(winner) + 1);
  });

  test("delete, then the product is eventually gone; a second delete is a 404", async () => {
    const { id } = await create();
    await readAt(id, 1);
    const stale = await call("DELETE", `/api/v1/products/${id}`, undefined, { "If-Match": '"7"' });
    assert.equal(stale.status, 412);
    const deleted = await call("DELETE", `/api/v1/products/${id}`);
    assert.equal(deleted.status, 204);
    assert.equal(deleted.headers.get("etag"), '"2"');
    // Read-your-delete: the deletion's version as X-Min-Version waits for the tombstone, then 404s.
    const ownRead = await call("GET", `/api/v1/products/${id}`, undefined, { "X-Min-Version": "2" });
    assert.equal(ownRead.status, 404, JSON.stringify(ownRead.body));
    await eventually("the product to be gone", async () => {
      const read = await call("GET", `/api/v1/products/${id}`);
      return read.status === 404 ? read : undefined;
    });
    assert.equal((await call("DELETE", `/api/v1/products/${id}`)).status, 404);
    assert.equal((await call("PATCH", `/api/v1/products/${id}`, { name: "Zombie" })).status, 404);
  });

  test("partial update changes only the given fields", async () => {
    const { id } = await create({ name: "Lamp", description: "Desk lamp", stock: 5, tags: [tag, "light"] });
    const updated = await call("PATCH", `/api/v1/products/${id}`, { priceCents: 4200, tags: [tag] });
    assert.equal(updated.status, 200);
    const read = await readAt(id, 2);
    assert.equal(read.body.priceCents, 4200);
    assert.deepEqual(read.body.tags, [tag]);
    assert.equal(read.body.name, "Lamp");
    assert.equal(read.body.stock, 5);
  });
});

describe("search", () => {
  const searchTag = `${tag}s`;
  const names = [
    "Crème Brûlée Torch",
    "CREME pot",
    "Widget Deluxe",
    "Wide Angle Lens",
    "Gadget",
    "Ångström Meter",
    "Blue Widget",
  ];
  const ids: string[] = [];

  before(async () => {
    // 56 products: the named ones, then fillers, with distinct prices; one more is deleted.
    for (let i = 0; i < 56; i++) {
      const name = names[i] ?? `Filler ${String(i).padStart(2, "0")}`;
      const { id } = await create({
        name,
        priceCents: 100 * (i + 1),
        tags: [searchTag, `${searchTag}-${i % 2 === 0 ? "even" : "odd"}`],
      });
      ids.push(id);
    }
    const doomed = await create({ name: "Widget Doomed", tags: [searchTag] });
    await deleteOnceListed(base, {
      listing: `/api/v1/products?tag=${searchTag}&limit=100`,
      path: `/api/v1/products/${doomed.id}`,
      id: doomed.id,
      expected: 56,
    });
  });

  const search = async (query: string) => {
    const result = await call("GET", `/api/v1/products?tag=${searchTag}&${query}`);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return result.body as {
      items: { id: string; name: string; priceCents: number; createdAt: string }[];
      nextCursor: string | null;
    };
  };

  test("word prefixes match case- and accent-insensitively", async () => {
    const names = async (q: string) =>
      (await search(`q=${encodeURIComponent(q)}&limit=100`)).items.map((i) => i.name).sort();
    assert.deepEqual(await names("wid"), ["Blue Widget", "Wide Angle Lens", "Widget Deluxe"]);
    assert.deepEqual(await names("WIDG"), ["Blue Widget", "Widget Deluxe"]);
    assert.deepEqual(await names("creme"), ["CREME pot", "Crème Brûlée Torch"]);
    assert.deepEqual(await names("brulee to"), ["Crème Brûlée Torch"]);
    assert.deepEqual(await names("angstrom"), ["Ångström Meter"]);
    assert.deepEqual(await names("idget"), [], "only the start of a word matches");
  });

  test("filters by tag and price range", async () => {
    const { items } = await search("minPriceCents=1000&maxPriceCents=2000&limit=100");
    assert.deepEqual(
      items.map((i) => i.priceCents).sort((a, b) => a - b),
      [1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000],
    );
    const odd = await call("GET", `/api/v1/products?tag=${searchTag}-odd&limit=100`);
    const oddIds = (odd.body.items as { id: string }[]).map((item) => item.id).sort();
    assert.deepEqual(oddIds, ids.filter((_, i) => i % 2 === 1).sort());
    const cheapOdd = await call("GET", `/api/v1/products?tag=${searchTag}-odd&maxPriceCents=600`);
    assert.deepEqual(
      (cheapOdd.body.items as { priceCents: number }[]).map((i) => i.priceCents).sort((a, b) => a - b),
      [200, 400, 600],
    );
  });

  for (const sort of ["name", "-name", "priceCents", "-priceCents", "createdAt", "-createdAt"]) {
    test(`paging with sort=${sort} lists every product exactly once, in order`, async () => {
      const seen: { id: string; name: string; priceCents: number; createdAt: string }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await search(`sort=${sort}&limit=7${cursor ? `&cursor=${cursor}` : ""}`);
        assert.ok(page.items.length <= 7);
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 20);
      assert.equal(seen.length, 56);
      assert.equal(new Set(seen.map((i) => i.id)).size, 56, "no product twice");
      assert.deepEqual(new Set(seen.map((i) => i.id)), new Set(ids), "every product, and no deleted one");
      const field = sort.replace("-", "") as "name" | "priceCents" | "createdAt";
      const key = (i: (typeof seen)[number]) =>
        field === "name" ? i.name.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase() : i[field];
      for (let i = 1; i < seen.length; i++) {
        const [a, b] = [key(seen[i - 1] as (typeof seen)[number]), key(seen[i] as (typeof seen)[number])];
        assert.ok(sort.startsWith("-") ? a >= b : a <= b, `${sort}: ${String(a)} then ${String(b)}`);
      }
    });
  }
});

describe("bad input is a 400 problem naming each field", () => {
  const id = "0190d3f0-0000-7000-8000-000000000000";
  const cases: [string, string, string, unknown, Record<string, string>, string[]][] = [
    ["malformed JSON", "POST", "/api/v1/products", "{not json", {}, ["(body)"]],
    [
      "wrong types",
      "POST",
      "/api/v1/products",
      { sku: 1, name: true, priceCents: "12", currency: "EUR" },
      {},
      ["sku", "name", "priceCents"],
    ],
    ["missing fields", "POST", "/api/v1/products", { name: "x" }, {}, ["sku", "priceCents", "currency"]],
    ["unknown fields", "POST", "/api/v1/products", { ...newProduct(), colour: "red" }, {}, ["colour"]],
    [
      "out-of-range numbers",
      "POST",
      "/api/v1/products",
      newProduct({ priceCents: -1, stock: 1.5 }),
      {},
      ["priceCents", "stock"],
    ],
    ["a huge number", "POST", "/api/v1/products", newProduct({ priceCents: 1e300 }), {}, ["priceCents"]],
    ["a bad currency", "POST", "/api/v1/products", newProduct({ currency: "euro" }), {}, ["currency"]],
    [
      "NUL and control characters, which PostgreSQL cannot store",
      "POST",
      "/api/v1/products",
      newProduct({ name: "a\u0000b", description: "x\u0000", tags: ["t\tab"] }),
      {},
      ["name", "description", "tags.0"],
    ],
    ["a NUL in a patch", "PATCH", `/api/v1/products/${id}`, { description: "\u0000" }, {}, ["description"]],
    ["a NUL in q and tag", "GET", "/api/v1/products?q=a%00&tag=b%00", undefined, {}, ["q", "tag"]],
    [
      "a forged cursor holding a NUL",
      "GET",
      `/api/v1/products?cursor=${Buffer.from(JSON.stringify(["name", "\u0000", id])).toString("base64url")}`,
      undefined,
      {},
      ["cursor"],
    ],
    ["a non-UUID id (get)", "GET", "/api/v1/products/42", undefined, {}, ["id"]],
    ["a non-UUID id (patch)", "PATCH", "/api/v1/products/abc", { name: "x" }, {}, ["id"]],
    ["a non-UUID id (delete)", "DELETE", "/api/v1/products/abc", undefined, {}, ["id"]],
    ["an empty patch", "PATCH", `/api/v1/products/${id}`, {}, {}, ["(body)"]],
    ["a bad If-Match", "PATCH", `/api/v1/products/${id}`, { name: "x" }, { "If-Match": "yesterday" }, ["If-Match"]],
    ["a bad cursor", "GET", "/api/v1/products?cursor=bm9wZQ", undefined, {}, ["cursor"]],
    ["a bad sort", "GET", "/api/v1/products?sort=price", undefined, {}, ["sort"]],
    ["a bad limit", "GET", "/api/v1/products?limit=1000", undefined, {}, ["limit"]],
    ["a non-numeric price", "GET", "/api/v1/products?minPriceCents=cheap", undefined, {}, ["minPriceCents"]],
    [
      "an inverted price range",
      "GET",
      "/api/v1/products?minPriceCents=5&maxPriceCents=1",
      undefined,
      {},
      ["minPriceCents"],
    ],
    ["an unknown parameter", "GET", "/api/v1/products?colour=red", undefined, {}, ["colour"]],
  ];
  for (const [name, method, path, body, headers, fields] of cases) {
    test(name, async () => {
      const result = await call(method, path, body, headers);
      assert.equal(result.status, 400, JSON.stringify(result.body));
      assert.equal(result.headers.get("content-type"), "application/problem+json");
      assert.equal(result.body.status, 400);
      const paths = (result.body.errors as { path: string }[]).map((e) => e.path);
      for (const field of fields) assert.ok(paths.includes(field), `${field} in ${JSON.stringify(paths)}`);
    });
  }

  test("a body that is not JSON at all, and a wrong content type", async () => {
    const response = await fetch(`${base}/api/v1/products`, {
      method: "POST",
      headers: { ...(await adminHeaders()), "content-type": "text/plain" },
      body: "hi",
    });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get("content-type"), "application/problem+json");
  });

  test("an unknown id is a 404 problem", async () => {
    const result = await call("GET", `/api/v1/products/${id}`);
    assert.equal(result.status, 404);
    assert.equal(result.headers.get("content-type"), "application/problem+json");
  });
});
