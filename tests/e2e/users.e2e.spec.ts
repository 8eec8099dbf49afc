// Users end to end, through the gateway's HTTP API only: HTTP -> gRPC -> writer -> PostgreSQL (row +
// outbox, email unique among live users) -> relay -> Kafka (user-events) -> projection ->
// MongoDB-wire read model (+ Redis) -> reader -> gRPC -> HTTP. Runs against its own isolated
// system, or against E2E_GATEWAY_URL (the compose run): every email starts with this run's tag, and
// list queries are narrowed to it, so a shared gateway never confuses two runs.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callJson, deleteOnceListed, type Json } from "../support/http.ts";
import { eventually, runId, startSystem, type TestSystem } from "../support/system.ts";

let system: TestSystem | undefined;
let base = process.env.E2E_GATEWAY_URL ?? "";
const tag = `e2eu${runId.slice(-6)}${Date.now().toString(36)}`;
let emailCounter = 0;
/** A fresh email of this run: `<tag>-<stem><n>@example.com`. */
const email = (stem = "u") => `${tag}-${stem}${++emailCounter}@example.com`;

before(async () => {
  if (!base) {
    system = await startSystem("users_e2e");
    base = system.url;
  }
});

after(async () => {
  await system?.stop();
});

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Json> =>
  callJson(base, method, path, body, headers);

async function create(fields: { email?: string; name?: string } = {}): Promise<{ id: string; version: number }> {
  const created = await call("POST", "/api/v1/users", { email: email(), name: "Test User", ...fields });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { id: String(created.body.id), version: Number(created.body.version) };
}

/** Waits until GET shows at least `version`. */
function readAt(id: string, version: number): Promise<Json> {
  return eventually(`user ${id} at version ${version}`, async () => {
    const read = await call("GET", `/api/v1/users/${id}`);
    return read.status === 200 && Number(read.body.version) >= version ? read : undefined;
  });
}

function errorPaths(result: Json): string[] {
  return ((result.body.errors ?? []) as { path: string }[]).map((e) => e.path);
}

function assertEmailTaken(result: Json): void {
  assert.equal(result.status, 409, JSON.stringify(result.body));
  assert.equal(result.headers.get("content-type"), "application/problem+json");
  assert.equal(result.body.status, 409);
  assert.deepEqual(errorPaths(result), ["email"]);
}

describe("users through the gateway", () => {
  test("create, then the user is eventually readable with its ETag; If-None-Match and X-Min-Version", async () => {
    const address = email("Ada.Lovelace");
    const created = await call("POST", "/api/v1/users", {
      email: address.toUpperCase(),
      name: "Ada Lovelace",
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.version, 1);
    const id = String(created.body.id);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/, "a UUIDv7");
    assert.equal(created.headers.get("location"), `/api/v1/users/${id}`);
    assert.equal(created.headers.get("etag"), '"1"');

    const read = await call("GET", `/api/v1/users/${id}`, undefined, { "X-Min-Version": "1" });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(read.headers.get("etag"), '"1"');
    assert.deepEqual(Object.keys(read.body).sort(), ["createdAt", "email", "id", "name", "updatedAt", "version"]);
    assert.equal(read.body.id, id);
    assert.equal(read.body.email, address.toUpperCase(), "stored as given");
    assert.equal(read.body.name, "Ada Lovelace");
    assert.equal(read.body.version, 1);
    assert.ok(Date.parse(String(read.body.createdAt)) > 0);
    assert.equal(read.body.updatedAt, read.body.createdAt);

    const notModified = await call("GET", `/api/v1/users/${id}`, undefined, { "If-None-Match": '"1"' });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get("etag"), '"1"');
    const modified = await call("GET", `/api/v1/users/${id}`, undefined, { "If-None-Match": '"7"' });
    assert.equal(modified.status, 200);
  });

  test("an email taken in another case is a 409 on email, and nothing is half-written", async () => {
    const address = email("Taken");
    const first = await create({ email: address });
    assertEmailTaken(await call("POST", "/api/v1/users", { email: address.toLowerCase(), name: "Copy" }));
    assertEmailTaken(await call("POST", "/api/v1/users", { email: address.toUpperCase(), name: "Copy" }));
    const read = await readAt(first.id, 1);
    assert.equal(read.body.email, address);
    const listed = await call("GET", `/api/v1/users?q=${encodeURIComponent(address)}`);
    assert.deepEqual(
      (listed.body.items as { id: string }[]).map((i) => i.id),
      [first.id],
      "only the first user has it",
    );
  });

  test("two concurrent creates with the same email: exactly one 201 and one 409", async () => {
    // Several races at once, each on its own email, one of each pair in another case.
    const races = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const address = email("race");
        const pair = await Promise.all([
          call("POST", "/api/v1/users", { email: address, name: "Racer A" }),
          call("POST", "/api/v1/users", { email: address.toUpperCase(), name: "Racer B" }),
        ]);
        return pair;
      }),
    );
    for (const pair of races) {
      assert.deepEqual(pair.map((r) => r.status).sort(), [201, 409], JSON.stringify(pair.map((r) => r.body)));
      const loser = pair.find((r) => r.status === 409);
      assert.ok(loser);
      assertEmailTaken(loser);
      const winner = pair.find((r) => r.status === 201);
      assert.ok(winner);
      await readAt(String(winner.body.id), 1);
    }
  });

  test("updating the email to a taken one is a 409 and changes nothing; to its own in another case is fine", async () => {
    const takenAddress = email("holder");
    await create({ email: takenAddress });
    const ownAddress = email("mover");
    const { id } = await create({ email: ownAddress, name: "Mover" });
    assertEmailTaken(await call("PATCH", `/api/v1/users/${id}`, { email: takenAddress.toUpperCase() }));
    assertEmailTaken(await call("PATCH", `/api/v1/users/${id}`, { email: takenAddress, name: "Renamed" }));
    const sameInCaps = await call("PATCH", `/api/v1/users/${id}`, { email: ownAddress.toUpperCase() });
    assert.equal(sameInCaps.status, 200, JSON.stringify(sameInCaps.body));
    assert.equal(sameInCaps.body.version, 2, "the refused updates did not bump the version");
    const read = await readAt(id, 2);
    assert.equal(read.body.email, ownAddress.toUpperCase());
    assert.equal(read.body.name, "Mover");
  });

  test("partial update changes only the given field; a stale If-Match is a 412 and leaves the user unchanged", async () => {
    const address = email("partial");
    const { id } = await create({ email: address, name: "Original" });
    const updated = await call("PATCH", `/api/v1/users/${id}`, { name: "Changed" }, { "If-Match": '"1"' });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.deepEqual(updated.body, { id, version: 2 });
    assert.equal(updated.headers.get("etag"), '"2"');
    const stale = await call("PATCH", `/api/v1/users/${id}`, { name: "Stale", email: email() }, { "If-Match": '"1"' });
    assert.equal(stale.status, 412);
    assert.equal(stale.headers.get("content-type"), "application/problem+json");
    const read = await readAt(id, 2);
    assert.equal(read.body.name, "Changed");
    assert.equal(read.body.email, address);
    assert.equal(read.body.version, 2);
    const newAddress = email("partial-new");
    assert.equal(
      (await call("PATCH", `/api/v1/users/${id}`, { email: newAddress }, { "If-Match": '"2"' })).status,
      200,
    );
    const moved = await readAt(id, 3);
    assert.equal(moved.body.email, newAddress);
    assert.equal(moved.body.name, "Changed");
  });

  test("delete, then the user is eventually gone, and its email can be registered again", async () => {
    const address = email("reuse");
    const { id } = await create({ email: address, name: "Leaving" });
    await readAt(id, 1);
    const stale = await call("DELETE", `/api/v1/users/${id}`, undefined, { "If-Match": '"7"' });
    assert.equal(stale.status, 412);
    const deleted = await call("DELETE", `/api/v1/users/${id}`, undefined, { "If-Match": '"1"' });
    assert.equal(deleted.status, 204);
    // Read-your-delete: the deletion's version as X-Min-Version waits for the tombstone, then 404s.
    const ownRead = await call("GET", `/api/v1/users/${id}`, undefined, { "X-Min-Version": "2" });
    assert.equal(ownRead.status, 404, JSON.stringify(ownRead.body));
    await eventually("the user to be gone", async () => {
      const read = await call("GET", `/api/v1/users/${id}`);
      return read.status === 404 ? read : undefined;
    });
    assert.equal((await call("DELETE", `/api/v1/users/${id}`)).status, 404);
    assert.equal((await call("PATCH", `/api/v1/users/${id}`, { name: "Zombie" })).status, 404);

    const again = await call("POST", "/api/v1/users", { email: address.toUpperCase(), name: "Returning" });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.notEqual(again.body.id, id, "a new user, not the old one revived");
    const read = await readAt(String(again.body.id), 1);
    assert.equal(read.body.name, "Returning");
    assert.equal((await call("GET", `/api/v1/users/${id}`)).status, 404);
    assertEmailTaken(await call("POST", "/api/v1/users", { email: address, name: "Third" }));
  });
});

describe("list", () => {
  // This run's list group: every email starts with `${group}`, every name ends with the word `tag`,
  // so queries narrowed by either see this group only, however many users a shared gateway holds.
  const group = `${tag}l`;
  const named = [
    ["Zoë Ångström", "Zoe.Angstrom"],
    ["ZOE Smith", "zsmith"],
    ["Ada Lovelace", "Ada.Lovelace"],
    ["Adam Ant", "ADAM"],
    ["Émile Zola", "emile.zola"],
    ["Grace Hopper", "grace"],
  ] as const;
  const members: { id: string; name: string; email: string }[] = [];
  const byName = new Map<string, string>();

  before(async () => {
    // 25 users: the named ones, then fillers; one more is deleted.
    for (let i = 0; i < 25; i++) {
      const [first, local] = named[i] ?? [`Filler ${String(i).padStart(2, "0")}`, `filler${i}`];
      const user = { name: `${first} ${tag}`, email: `${group}${String(i).padStart(2, "0")}.${local}@Example.com` };
      const { id } = await create(user);
      members.push({ id, ...user });
      byName.set(first, id);
    }
    const doomed = await create({ name: `Zoe Doomed ${tag}`, email: `${group}99.doomed@example.com` });
    await deleteOnceListed(base, {
      listing: `/api/v1/users?q=${group}&limit=100`,
      path: `/api/v1/users/${doomed.id}`,
      id: doomed.id,
      expected: 25,
    });
  });

  const list = async (query: string) => {
    const result = await call("GET", `/api/v1/users?${query}`);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return result.body as {
      items: { id: string; name: string; email: string; createdAt: string; version: number }[];
      nextCursor: string | null;
    };
  };

  /** The first names of the users `q` finds, sorted. */
  const found = async (q: string) =>
    (await list(`q=${encodeURIComponent(q)}&limit=100`)).items.map((i) => i.name.replace(` ${tag}`, "")).sort();

  test("q matches the start of the name's words, case- and accent-insensitively", async () => {
    assert.deepEqual(await found(`zoe ${tag}`), ["ZOE Smith", "Zoë Ångström"]);
    assert.deepEqual(await found(`ZOË ${tag}`), ["ZOE Smith", "Zoë Ångström"]);
    assert.deepEqual(await found(`angst ${tag}`), ["Zoë Ångström"]);
    assert.deepEqual(await found(`ÅNGSTRÖM ${tag}`), ["Zoë Ångström"]);
    assert.deepEqual(await found(`ada ${tag}`), ["Ada Lovelace", "Adam Ant"]);
    assert.deepEqual(await found(`${tag} lovel`), ["Ada Lovelace"]);
    assert.deepEqual(await found(`emile ${tag}`), ["Émile Zola"]);
    assert.deepEqual(await found(`mile ${tag}`), [], "only the start of a word matches");
    assert.deepEqual(await found(`zoe doomed ${tag}`), [], "a deleted user is never listed");
  });

  test("q matches the start of the email, case-insensitively", async () => {
    assert.deepEqual(await found(`${group}02.ada`), ["Ada Lovelace"]);
    assert.deepEqual(await found(`${group.toUpperCase()}02.ADA.LOVELACE@EXAMPLE.COM`), ["Ada Lovelace"]);
    assert.deepEqual(
      await found(`${group}0`),
      ["Ada Lovelace", "Adam Ant", ...fillers(6, 9), "Grace Hopper", "ZOE Smith", "Zoë Ångström", "Émile Zola"].sort(),
    );
    assert.equal((await found(group)).length, 25);
    // Not the middle of an email: the same address without its start finds none of this group.
    const middle = await list(`q=${encodeURIComponent("02.ada.lovelace@example.com")}&limit=100`);
    const ids = new Set(members.map((m) => m.id));
    assert.ok(!middle.items.some((item) => ids.has(item.id)));
  });

  function fillers(from: number, to: number): string[] {
    return Array.from({ length: to - from + 1 }, (_, i) => `Filler ${String(from + i).padStart(2, "0")}`);
  }

  test("the default sort is by name, and limit defaults to 20", async () => {
    const page = await list(`q=${group}`);
    assert.equal(page.items.length, 20);
    assert.ok(page.nextCursor);
    const rest = await list(`q=${group}&cursor=${page.nextCursor}`);
    assert.equal(rest.items.length, 5);
    assert.equal(rest.nextCursor, null);
    const names = [...page.items, ...rest.items].map((i) => i.name.replace(` ${tag}`, ""));
    assert.equal(names[0], "Ada Lovelace");
    assert.equal(names.at(-1), "ZOE Smith", "zoe smith after zoe angstrom");
  });

  const fold = (text: string) => text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
  type Item = Awaited<ReturnType<typeof list>>["items"][number];
  const KEYS: Record<string, (item: Item) => string> = {
    name: (i) => fold(i.name),
    email: (i) => i.email.toLowerCase(),
    createdAt: (i) => i.createdAt,
  };

  for (const sort of ["name", "-name", "email", "-email", "createdAt", "-createdAt"]) {
    test(`paging with sort=${sort} lists every user exactly once, in order`, async () => {
      const seen: Item[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await list(`q=${group}&sort=${sort}&limit=7${cursor ? `&cursor=${cursor}` : ""}`);
        assert.ok(page.items.length <= 7);
        seen.push(...page.items);
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      assert.equal(pages, 4);
      assert.equal(seen.length, 25);
      assert.deepEqual(new Set(seen.map((i) => i.id)), new Set(members.map((m) => m.id)), "every user once");
      const key = KEYS[sort.replace("-", "")];
      assert.ok(key);
      for (let i = 1; i < seen.length; i++) {
        const [a, b] = [key(seen[i - 1] as Item), key(seen[i] as Item)];
        assert.ok(sort.startsWith("-") ? a >= b : a <= b, `${sort}: ${a} then ${b}`);
      }
    });
  }

  test("a renamed user is found by its new name only", async () => {
    const id = byName.get("Grace Hopper");
    assert.ok(id);
    const renamed = await call("PATCH", `/api/v1/users/${id}`, { name: `Grace Brewster ${tag}` });
    assert.equal(renamed.status, 200);
    await readAt(id, 2);
    assert.deepEqual(await found(`brew ${tag}`), ["Grace Brewster"]);
    assert.deepEqual(await found(`hopper ${tag}`), []);
  });
});

describe("bad input is a 400 problem naming each field", () => {
  const id = "0190d3f0-0000-7000-8000-000000000000";
  const cursorOfAnotherSort = Buffer.from(JSON.stringify(["email", "a@b.co", id])).toString("base64url");
  const cases: [string, string, string, unknown, Record<string, string>, string[]][] = [
    ["malformed JSON", "POST", "/api/v1/users", "{not json", {}, ["(body)"]],
    ["a JSON array", "POST", "/api/v1/users", [{ email: "a@b.co", name: "A" }], {}, ["(body)"]],
    ["bad email", "POST", "/api/v1/users", { email: "not-an-email", name: "A" }, {}, ["email"]],
    ["email too long", "POST", "/api/v1/users", { email: `${"a".repeat(250)}@b.co`, name: "A" }, {}, ["email"]],
    ["blank name", "POST", "/api/v1/users", { email: "a@b.co", name: "   " }, {}, ["name"]],
    ["a NUL in the name", "POST", "/api/v1/users", { email: "a@b.co", name: "A\u0000" }, {}, ["name"]],
    [
      "whitespace around the email and name",
      "POST",
      "/api/v1/users",
      { email: " a@b.co", name: "A\t" },
      {},
      ["email", "name"],
    ],
    ["a newline in the name", "PATCH", `/api/v1/users/${id}`, { name: "A\nB" }, {}, ["name"]],
    ["a NUL in q", "GET", "/api/v1/users?q=%00", undefined, {}, ["q"]],
    ["missing fields", "POST", "/api/v1/users", {}, {}, ["email", "name"]],
    ["wrong types", "POST", "/api/v1/users", { email: 42, name: ["A"] }, {}, ["email", "name"]],
    ["unknown fields", "POST", "/api/v1/users", { email: "a@b.co", name: "A", role: "admin", id }, {}, ["role", "id"]],
    ["a non-UUID id (get)", "GET", "/api/v1/users/42", undefined, {}, ["id"]],
    ["a non-UUID id (patch)", "PATCH", "/api/v1/users/abc", { name: "x" }, {}, ["id"]],
    ["a non-UUID id (delete)", "DELETE", "/api/v1/users/abc", undefined, {}, ["id"]],
    ["an empty patch", "PATCH", `/api/v1/users/${id}`, {}, {}, ["(body)"]],
    ["a bad email in a patch", "PATCH", `/api/v1/users/${id}`, { email: "x@" }, {}, ["email"]],
    ["an unknown field in a patch", "PATCH", `/api/v1/users/${id}`, { name: "x", version: 2 }, {}, ["version"]],
    ["a bad If-Match", "PATCH", `/api/v1/users/${id}`, { name: "x" }, { "If-Match": "yesterday" }, ["If-Match"]],
    ["a bad X-Min-Version", "GET", `/api/v1/users/${id}`, undefined, { "X-Min-Version": "0" }, ["X-Min-Version"]],
    ["a bad cursor", "GET", "/api/v1/users?cursor=bm9wZQ", undefined, {}, ["cursor"]],
    ["a cursor of another sort", "GET", `/api/v1/users?cursor=${cursorOfAnotherSort}`, undefined, {}, ["cursor"]],
    ["a bad sort", "GET", "/api/v1/users?sort=priceCents", undefined, {}, ["sort"]],
    ["a bad limit", "GET", "/api/v1/users?limit=0", undefined, {}, ["limit"]],
    ["a limit too big", "GET", "/api/v1/users?limit=101", undefined, {}, ["limit"]],
    ["a non-numeric limit", "GET", "/api/v1/users?limit=ten", undefined, {}, ["limit"]],
    ["unknown parameters", "GET", "/api/v1/users?tag=x&page=2", undefined, {}, ["tag", "page"]],
  ];
  for (const [name, method, path, body, headers, fields] of cases) {
    test(name, async () => {
      const result = await call(method, path, body, headers);
      assert.equal(result.status, 400, JSON.stringify(result.body));
      assert.equal(result.headers.get("content-type"), "application/problem+json");
      assert.equal(result.body.status, 400);
      const paths = errorPaths(result);
      for (const field of fields) assert.ok(paths.includes(field), `${field} in ${JSON.stringify(paths)}`);
    });
  }

  test("an unknown id is a 404 problem, for every method", async () => {
    for (const [method, body] of [
      ["GET", undefined],
      ["PATCH", { name: "x" }],
      ["DELETE", undefined],
    ] as const) {
      const result = await call(method, `/api/v1/users/${id}`, body);
      assert.equal(result.status, 404, method);
      assert.equal(result.headers.get("content-type"), "application/problem+json");
    }
  });
});
