// The OpenAPI document against the gateway that serves it: every route the gateway mounts is
// documented and every documented operation is mounted, and real answers of a running system (its
// successes and its problems) are what the document says, validated by ajv against its schemas.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { allFunctions } from "#functions/registry.ts";
import { gatewayApp } from "#services/gateway/gateway.ts";
import { connectClient } from "#shared/transport/grpc.ts";
import { buildOpenApi, type OpenApiDocument, type OperationObject } from "#shared/transport/openapi.ts";
import { adminHeaders, headersFor } from "../support/auth.ts";
import { eventually, runId, startSystem, type TestSystem } from "../support/system.ts";

let system: TestSystem | undefined;
let base = process.env.E2E_GATEWAY_URL ?? "";
let doc: OpenApiDocument | undefined;
const tag = `oa${runId.slice(-6)}${Date.now().toString(36)}`;
let counter = 0;
const unique = (stem: string) => `${tag}-${stem}-${++counter}`;
const MISSING_ID = "0190d3f0-0000-7000-8000-000000000000";

/** Routes the gateway serves that are not part of the API. */
const NOT_API = (path: string) =>
  ["/healthz", "/readyz", "/metrics", "/openapi.json"].includes(path) || path === "/docs" || path.startsWith("/docs/");

before(async () => {
  if (!base) {
    system = await startSystem("openapi_e2e", { MIN_VERSION_WAIT_MS: "300" });
    base = system.url;
  }
  const response = await fetch(`${base}/openapi.json`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  doc = (await response.json()) as OpenApiDocument;
});

after(async () => {
  await system?.stop();
});

function theDoc(): OpenApiDocument {
  assert.ok(doc, "the document was fetched");
  return doc;
}

describe("routes and document", () => {
  test("/openapi.json serves the document built from the functions", () => {
    assert.deepEqual(theDoc(), JSON.parse(JSON.stringify(buildOpenApi(allFunctions))));
  });

  test("every route the gateway serves is documented, and every documented operation is served", () => {
    // The same app the gateway serves; its channels are never used, so they never connect.
    const clients = { writer: connectClient("127.0.0.1:1"), reader: connectClient("127.0.0.1:1") };
    try {
      const neverCalled = { deadlineMs: 1000, admit: () => Promise.reject(new Error("not called")) };
      const app = gatewayApp(clients, neverCalled, () => {});
      const served = new Set(
        app.routes
          .filter((route) => route.method !== "ALL" && !NOT_API(route.path))
          .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`),
      );
      const documented = new Set(
        Object.entries(theDoc().paths).flatMap(([path, item]) =>
          Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
        ),
      );
      assert.deepEqual([...served].sort(), [...documented].sort());
      assert.equal(documented.size, allFunctions.length);
      // The routes left out above are the gateway's own, all still there.
      const own = app.routes.filter((route) => route.method === "GET" && NOT_API(route.path)).map((r) => r.path);
      for (const path of ["/healthz", "/readyz", "/openapi.json", "/docs"]) assert.ok(own.includes(path), path);
    } finally {
      clients.writer.close();
      clients.reader.close();
    }
  });
});

// ---- real answers against the document ----

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

const DOC_ID = "urn:cqrs-ts:openapi";
let ajv: Ajv2020 | undefined;
function validatorAt(...parts: string[]) {
  if (!ajv) {
    ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats.default(ajv);
    ajv.addVocabulary(["openapi", "info", "servers", "tags", "paths", "components"]);
    ajv.addSchema({ ...theDoc(), $id: DOC_ID });
  }
  const pointer = parts.map((part) => part.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
  const validate = ajv.getSchema(`${DOC_ID}#/${pointer}`);
  assert.ok(validate, `no schema at ${parts.join(" ")}`);
  return validate;
}

function operationOf(operationId: string): { method: string; path: string; op: OperationObject } {
  for (const [path, item] of Object.entries(theDoc().paths)) {
    for (const [method, op] of Object.entries(item)) if (op.operationId === operationId) return { method, path, op };
  }
  assert.fail(`no operation ${operationId}`);
}

/** Which (operation, status) pairs the tests below saw, to check that each operation was covered. */
const seen = new Map<string, Set<string>>();

/**
 * Sends a request as operation `operationId` and checks the answer against the document: the
 * request fits the operation's method and path, the status is documented, the body has the
 * documented media type and passes its schema, and documented headers of a success are present.
 */
async function send(
  operationId: string,
  request: { path: string; body?: unknown; rawBody?: string; headers?: Record<string, string> },
  expected: number,
): Promise<Answer> {
  const { method, path: template, op } = operationOf(operationId);
  const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, "[^/?]+")}(\\?.*)?$`);
  assert.match(request.path, pattern, `${request.path} is a ${operationId} request`);
  const json = request.body !== undefined;
  if (json) {
    // A request the document calls valid, and which the route must then accept (or refuse on state).
    const validate = validatorAt("paths", template, method, "requestBody", "content", "application/json", "schema");
    if (expected < 400) assert.equal(validate(request.body), true, JSON.stringify(validate.errors));
  }
  // As a caller with every role, unless the request names another (an empty one: no token at all).
  const headers: Record<string, string> = {
    ...(await adminHeaders()),
    ...(json || request.rawBody ? { "content-type": "application/json" } : {}),
    ...request.headers,
  };
  if (headers.authorization === "") delete headers.authorization;
  const response = await fetch(`${base}${request.path}`, {
    method: method.toUpperCase(),
    headers,
    body: json ? JSON.stringify(request.body) : request.rawBody,
  });
  const text = await response.text();
  const answer = { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  const what = `${operationId} ${request.path} -> ${answer.status} ${text.slice(0, 300)}`;
  assert.equal(answer.status, expected, what);
  seen.set(operationId, (seen.get(operationId) ?? new Set()).add(String(answer.status)));

  const documented = op.responses[String(answer.status)];
  assert.ok(documented, `${what}: status not documented`);
  const mediaTypes = Object.keys(documented.content ?? {});
  if (mediaTypes.length === 0) {
    assert.equal(text, "", `${what}: documented without a body`);
  } else {
    const type = (response.headers.get("content-type") ?? "").split(";")[0] ?? "";
    assert.ok(mediaTypes.includes(type), `${what}: content-type ${type}, documented ${mediaTypes}`);
    const validate = validatorAt(
      "paths",
      template,
      method,
      "responses",
      String(answer.status),
      "content",
      type,
      "schema",
    );
    assert.equal(validate(answer.body), true, `${what}: ${JSON.stringify(validate.errors)}`);
  }
  if (answer.status < 400) {
    for (const header of Object.keys(documented.headers ?? {})) {
      assert.ok(response.headers.has(header), `${what}: documented header ${header} is missing`);
    }
  }
  return answer;
}

const field = (answer: Answer, name: string): unknown =>
  typeof answer.body === "object" && answer.body !== null ? (answer.body as Record<string, unknown>)[name] : undefined;

describe("real answers match the document", () => {
  test("products: every operation's success and its problems", async () => {
    const product = (overrides: Record<string, unknown> = {}) => ({
      sku: unique("p"),
      name: "Documented Widget",
      description: "Checked against its schema",
      priceCents: 1299,
      currency: "EUR",
      stock: 5,
      tags: [tag],
      ...overrides,
    });
    const created = await send("CreateProduct", { path: "/api/v1/products", body: product() }, 201);
    const id = String(field(created, "id"));
    await send("CreateProduct", { path: "/api/v1/products", body: product({ name: "Second" }) }, 201);
    const taken = product();
    await send("CreateProduct", { path: "/api/v1/products", body: taken }, 201);
    await send("CreateProduct", { path: "/api/v1/products", body: { ...taken, name: "Clash" } }, 409);
    await send("CreateProduct", { path: "/api/v1/products", body: { ...product(), currency: "eur", extra: 1 } }, 400);
    await send("CreateProduct", { path: "/api/v1/products", rawBody: "{not json" }, 400);
    const key = { "Idempotency-Key": unique("key") };
    await send("CreateProduct", { path: "/api/v1/products", body: product(), headers: key }, 201);
    await send("CreateProduct", { path: "/api/v1/products", body: product(), headers: key }, 422);

    const path = `/api/v1/products/${id}`;
    await eventually("the product in the read model", async () => {
      const read = await fetch(`${base}${path}`);
      await read.body?.cancel();
      return read.status === 200 ? true : undefined;
    });
    await send("GetProduct", { path, headers: { "X-Min-Version": "1" } }, 200);
    await send("GetProduct", { path, headers: { "If-None-Match": '"1"' } }, 304);
    await send("GetProduct", { path: "/api/v1/products/not-a-uuid" }, 400);
    await send("GetProduct", { path: `/api/v1/products/${MISSING_ID}` }, 404);
    await send("GetProduct", { path, headers: { "X-Min-Version": "99" } }, 503);

    await send("UpdateProduct", { path, body: { priceCents: 999 }, headers: { "If-Match": '"1"' } }, 200);
    await send("UpdateProduct", { path, body: { priceCents: 998 }, headers: { "If-Match": '"1"' } }, 412);
    await send("UpdateProduct", { path, body: { sku: taken.sku } }, 409);
    await send("UpdateProduct", { path, body: {} }, 400);
    await send("UpdateProduct", { path: `/api/v1/products/${MISSING_ID}`, body: { stock: 1 } }, 404);

    const page1 = await eventually("two products in the search", async () => {
      const response = await fetch(`${base}/api/v1/products?tag=${tag}&limit=1&sort=-createdAt`);
      const body = (await response.json()) as { nextCursor?: unknown };
      return typeof body.nextCursor === "string" ? body.nextCursor : undefined;
    });
    const first = await send("SearchProducts", { path: `/api/v1/products?tag=${tag}&limit=1&sort=-createdAt` }, 200);
    assert.equal(typeof field(first, "nextCursor"), "string");
    const last = await send(
      "SearchProducts",
      { path: `/api/v1/products?tag=${tag}&limit=100&sort=-createdAt&cursor=${page1}` },
      200,
    );
    assert.equal(field(last, "nextCursor"), null);
    assert.ok(Array.isArray(field(last, "items")) && (field(last, "items") as unknown[]).length > 0);
    await send("SearchProducts", { path: "/api/v1/products?limit=ten&page=2" }, 400);

    await send("DeleteProduct", { path, headers: { "If-Match": '"1"' } }, 412);
    await send("DeleteProduct", { path, headers: { "If-Match": '"2"' } }, 204);
    await send("DeleteProduct", { path }, 404);
    await send("DeleteProduct", { path: "/api/v1/products/nope" }, 400);
  });

  test("users: every operation's success and its problems", async () => {
    const email = () => `${unique("u")}@example.com`;
    const created = await send(
      "CreateUser",
      { path: "/api/v1/users", body: { email: email(), name: "Ada Lovelace" } },
      201,
    );
    const id = String(field(created, "id"));
    const takenEmail = email();
    await send("CreateUser", { path: "/api/v1/users", body: { email: takenEmail, name: "Grace Hopper" } }, 201);
    await send("CreateUser", { path: "/api/v1/users", body: { email: takenEmail.toUpperCase(), name: "Copy" } }, 409);
    await send("CreateUser", { path: "/api/v1/users", body: { email: "not an email", name: "" } }, 400);
    const someone = await headersFor({ subject: unique("someone"), roles: [] });
    const forAnother = { email: email(), name: "Not Theirs", subject: unique("another") };
    await send("CreateUser", { path: "/api/v1/users", body: forAnother, headers: someone }, 403);

    const path = `/api/v1/users/${id}`;
    await eventually("the user in the read model", async () => {
      const read = await fetch(`${base}${path}`, { headers: await adminHeaders() });
      await read.body?.cancel();
      return read.status === 200 ? true : undefined;
    });
    await send("GetUser", { path }, 200);
    await send("GetUser", { path, headers: { "If-None-Match": '"1"' } }, 304);
    await send("GetUser", { path, headers: { "X-Min-Version": "0" } }, 400);
    await send("GetUser", { path: `/api/v1/users/${MISSING_ID}` }, 404);

    await send("UpdateUser", { path, body: { name: "Ada King" }, headers: { "If-Match": '"1"' } }, 200);
    await send("UpdateUser", { path, body: { name: "Ada" }, headers: { "If-Match": '"1"' } }, 412);
    await send("UpdateUser", { path, body: { email: takenEmail } }, 409);
    await send("UpdateUser", { path, body: { nickname: "ada" } }, 400);
    await send("UpdateUser", { path: `/api/v1/users/${MISSING_ID}`, body: { name: "Nobody" } }, 404);

    await eventually("the users in the list", async () => {
      const response = await fetch(`${base}/api/v1/users?q=${encodeURIComponent(tag)}&limit=1&sort=email`, {
        headers: await adminHeaders(),
      });
      const body = (await response.json()) as { nextCursor?: unknown };
      return typeof body.nextCursor === "string" ? true : undefined;
    });
    const listed = await send(
      "ListUsers",
      { path: `/api/v1/users?q=${encodeURIComponent(tag)}&limit=1&sort=email` },
      200,
    );
    assert.equal(typeof field(listed, "nextCursor"), "string");
    await send("ListUsers", { path: "/api/v1/users?sort=priceCents" }, 400);
    await send("ListProductTags", { path: "/api/v1/product-tags?limit=5" }, 200);
    await send("ListProductTags", { path: "/api/v1/product-tags?limit=1001" }, 400);

    await send("DeleteUser", { path, headers: { "If-Match": "W/abc" } }, 400);
    await send("DeleteUser", { path }, 204);
    await send("DeleteUser", { path }, 404);
  });

  test("a protected operation refuses a caller without a token (401) and one without its role (403)", async () => {
    const nobody = await headersFor({ subject: unique("nobody"), roles: [] });
    for (const fn of allFunctions) {
      if (fn.access === "public") continue;
      const path = operationOf(fn.name).path.replace("{id}", MISSING_ID);
      const refused = await send(fn.name, { path, headers: { authorization: "" } }, 401);
      assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="cqrs-ts"', fn.name);
      if (!fn.access.owner) await send(fn.name, { path, headers: nobody }, 403);
    }
  });

  test("each operation was seen answering its successes, 400, 401, 403 and 404 as documented", () => {
    for (const fn of allFunctions) {
      const { op } = operationOf(fn.name);
      const wanted = Object.keys(op.responses).filter((status) => /^[23]|^40[0134]$/.test(status));
      const got = seen.get(fn.name) ?? new Set();
      assert.deepEqual(
        wanted.filter((status) => !got.has(status)),
        [],
        `${fn.name} was seen answering ${[...got]}`,
      );
    }
  });
});

describe("the docs page's files", () => {
  test("the page, its script and Swagger UI's files come with their content types; nothing else is served", async () => {
    const page = await fetch(`${base}/docs`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    const html = await page.text();
    const links = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? "");
    assert.ok(links.length >= 4, links.join());
    const types: Record<string, RegExp> = { js: /^text\/javascript/, css: /^text\/css/, png: /^image\/png/ };
    for (const link of links) {
      assert.match(link, /^\/docs\//, "every file the page loads is the gateway's own");
      const response = await fetch(`${base}${link}`);
      await response.arrayBuffer();
      assert.equal(response.status, 200, link);
      const type = types[link.split(".").at(-1) ?? ""];
      assert.ok(type, link);
      assert.match(response.headers.get("content-type") ?? "", type, link);
    }
    for (const path of ["/docs/assets/index.html", "/docs/assets/..%2Fpackage.json", "/docs/assets/swagger-ui.js"]) {
      const response = await fetch(`${base}${path}`);
      assert.equal(response.status, 404, path);
      assert.equal(response.headers.get("content-type"), "application/problem+json", path);
      await response.arrayBuffer();
    }
  });
});
