// The OpenAPI 3.1 document of the gateway's HTTP API, built from the functions themselves: each
// operation's body, query and path schemas are the valibot schemas its route parses with, and its
// responses the schemas of what it answers, converted to JSON Schema (draft 2020-12, the dialect of
// OpenAPI 3.1). There is no hand-written copy to drift. A pipe is documented as the client sends
// it, up to its first type transformation (a query's `limit` is a string of digits; its range is
// checked after the conversion); a check in code states what it is marked to state
// (shared/transport/documented.ts; every text field's rules are marked, shared/transport/text.ts)
// and is otherwise left out.
// Anything else the converter cannot express fails the build of the document, loudly.
import { type ConversionConfig, type JsonSchema, toJsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import * as v from "valibot";
import { documentationOf } from "./documented.ts";
import type { FunctionDeclaration } from "./function.ts";
import { COUNT_HEADER_MAX, VERSION_HEADER } from "./http.ts";
import type { Problem } from "./problem.ts";
import type { HttpOperation, RequestHeader, ResponseHeader } from "./route.ts";

/** Every error body: RFC 9457 problem details (shared/transport/problem.ts). */
export const ProblemSchema = v.strictObject({
  type: v.pipe(v.string(), v.description("a URI naming the kind of problem, or about:blank")),
  title: v.string(),
  status: v.pipe(v.number(), v.integer(), v.minValue(400), v.maxValue(599)),
  detail: v.string(),
  errors: v.optional(
    v.pipe(
      v.array(
        v.strictObject({
          path: v.pipe(v.string(), v.description("the field, query parameter or header, e.g. priceCents or If-Match")),
          message: v.string(),
        }),
      ),
      v.description("on a 400 or 409: each offending field"),
    ),
  ),
}) satisfies v.GenericSchema<unknown, Problem>;

export interface ParameterObject {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  description: string;
  schema: JsonSchema;
  example?: unknown;
}

export interface MediaTypeObject {
  schema: JsonSchema;
  example?: unknown;
}

export interface HeaderObject {
  description: string;
  schema: JsonSchema;
}

export interface LinkObject {
  operationId: string;
  parameters: Record<string, string>;
  description: string;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject | { $ref: string }>;
  content?: Record<string, MediaTypeObject>;
  links?: Record<string, LinkObject>;
}

export interface OperationObject {
  operationId: string;
  tags: string[];
  summary: string;
  description: string;
  parameters?: ParameterObject[];
  requestBody?: { required: boolean; content: Record<string, MediaTypeObject> };
  responses: Record<string, ResponseObject>;
  /** None for a public operation; a bearer token otherwise. */
  security: Record<string, string[]>[];
  /** The roles the operation needs (one of them), and whether a caller's own records need none. */
  "x-roles"?: { anyOf: string[]; ownRecords: boolean };
}

export interface OpenApiDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  servers: { url: string; description: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, Partial<Record<HttpOperation["method"], OperationObject>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    headers: Record<string, HeaderObject>;
    securitySchemes: Record<string, { type: "http"; scheme: "bearer"; bearerFormat: string; description: string }>;
  };
}

export class OpenApiError extends Error {
  override name = "OpenApiError";
}

const PROBLEM_JSON = "application/problem+json";
const COMPONENT_SCHEMAS = "#/components/schemas/";

type DocumentedHeader = RequestHeader | "Idempotency-Key" | "X-Correlation-Id";

const REQUEST_HEADERS: Record<DocumentedHeader, Omit<ParameterObject, "name" | "in" | "required">> = {
  "If-Match": {
    description:
      'Only if the resource is still at this version, in quotes as its ETag: "3" (W/"3" too; * for any version); 412 otherwise',
    schema: { type: "string", pattern: VERSION_HEADER.source },
    example: '"1"',
  },
  "If-None-Match": {
    description: "A 304 without a body when it names the current version (ETags, comma-separated, or *)",
    schema: { type: "string" },
  },
  "X-Min-Version": {
    description:
      "Read your writes: wait, bounded, until the read model holds at least this version (a command's answer); 503 past the bound",
    schema: { type: "integer", minimum: 1, maximum: COUNT_HEADER_MAX },
  },
  "Idempotency-Key": {
    description:
      "A repeat of this command with the same key and request gets the first response and changes nothing; the same key with another request is a 422",
    schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
  },
  "X-Correlation-Id": {
    description:
      "Ties this request to others of the caller's; a command's event records it (a new one is made for a command without it)",
    schema: { type: "string", minLength: 1, maxLength: 128, pattern: "^[\\x21-\\x7e]+$" },
  },
};

const BEARER = "bearerAuth";
const SECURITY_SCHEMES = {
  [BEARER]: {
    type: "http" as const,
    scheme: "bearer" as const,
    bearerFormat: "JWT",
    description:
      "A JWT from the identity provider (locally: npm run token); the operations that need one name their roles",
  },
};

const RESPONSE_HEADERS: Record<
  ResponseHeader | "Retry-After" | "WWW-Authenticate" | "RateLimit" | "RateLimit-Policy",
  HeaderObject
> = {
  ETag: { description: 'The version, in quotes: "3"', schema: { type: "string", pattern: '^"[1-9][0-9]*"$' } },
  Location: { description: "The path of what was created", schema: { type: "string" } },
  "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer", minimum: 0 } },
  RateLimit: {
    description: 'What is left of the budget: "<reads|commands>";r=<remaining>;t=<seconds to the next window>',
    schema: { type: "string" },
  },
  "RateLimit-Policy": {
    description:
      'The budget: "<reads|commands>";q=<requests>;w=<window seconds> (draft-ietf-httpapi-ratelimit-headers)',
    schema: { type: "string" },
  },
  "WWW-Authenticate": {
    description: 'The bearer challenge (RFC 6750): realm, and with a bad token error="invalid_token" and why',
    schema: { type: "string" },
  },
};

/** The problems every operation can answer, and those of a command (Idempotency-Key) or a body. */
const STANDARD_PROBLEMS = {
  400: "invalid input: `errors` names each offending field, query parameter or header",
  429: "the caller's budget of reads or of commands for this window is spent (Retry-After, RateLimit)",
  503: "the writer or reader did not answer in time (try again after Retry-After)",
} as const;
const COMMAND_PROBLEMS = {
  409: "a request with this Idempotency-Key is still in progress (try again after Retry-After)",
  422: "this Idempotency-Key was used with a different request",
} as const;
const BODY_PROBLEMS = { 413: "the body is too large" } as const;

/**
 * valibot pipe steps the document leaves out: lower-casing, which follows the checks of what the
 * client sends (a tag), so the value is documented as sent.
 */
const IGNORED_ACTIONS = ["to_lower_case"];
/** Checks in code: documented where marked (`documented`, as every text field is), else left out. */
const CHECKS = ["check", "raw_check"];

/**
 * A converter from valibot to JSON Schema where each named schema becomes a reference to
 * components.schemas. It throws on anything it cannot convert, except the actions listed above, so
 * a schema the document cannot express is found when the document is built, not by a reader.
 */
function converter(definitions: Record<string, v.GenericSchema>) {
  const config: ConversionConfig = {
    target: "draft-2020-12",
    // Requests are documented as the client sends them: up to a pipe's first type transformation.
    typeMode: "input",
    errorMode: "throw",
    definitions,
    ignoreActions: IGNORED_ACTIONS,
    overrideRef: ({ referenceId }) => `${COMPONENT_SCHEMAS}${referenceId}`,
    // A step marked `documented` adds what it states; any other check in code is left out.
    overrideAction: ({ valibotAction, jsonSchema }) => {
      const stated = documentationOf(valibotAction);
      if (stated) return { ...jsonSchema, ...stated };
      return CHECKS.includes(valibotAction.type) ? jsonSchema : undefined;
    },
  };
  /**
   * Drops the converter's `$schema` and `$defs` (the definitions live in components) and writes
   * `additionalProperties: {not: {}}` (from a rest of `never`) as the plainer `false`.
   */
  const tidy = (schema: JsonSchema): JsonSchema => {
    const { $schema: _dialect, $defs: defs, ...rest } = schema;
    const unnamed = Object.keys(defs ?? {}).filter((name) => !(name in definitions));
    if (unnamed.length > 0) throw new OpenApiError(`definitions that are not components: ${unnamed.join(", ")}`);
    return normalise(rest) as JsonSchema;
  };
  return {
    schema: (schema: v.GenericSchema): JsonSchema => tidy(toJsonSchema(schema, config)),
    components: (): Record<string, JsonSchema> =>
      Object.fromEntries(
        Object.entries(toJsonSchemaDefs(definitions, config)).map(([name, schema]) => [name, tidy(schema)]),
      ),
  };
}

function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => {
      const never = key === "additionalProperties" && JSON.stringify(inner) === '{"not":{}}';
      return [key, never ? false : normalise(inner)];
    }),
  );
}

function problemResponse(description: string, status: number): ResponseObject {
  const retry = status === 503 || status === 409;
  return {
    description,
    ...(retry ? { headers: { "Retry-After": { $ref: "#/components/headers/Retry-After" } } } : {}),
    ...(status === 401 ? { headers: { "WWW-Authenticate": { $ref: "#/components/headers/WWW-Authenticate" } } } : {}),
    ...(status === 429
      ? {
          headers: Object.fromEntries(
            ["Retry-After", "RateLimit", "RateLimit-Policy"].map((name) => [
              name,
              { $ref: `#/components/headers/${name}` },
            ]),
          ),
        }
      : {}),
    content: { [PROBLEM_JSON]: { schema: { $ref: `${COMPONENT_SCHEMAS}Problem` } } },
  };
}

function headerRefs(names: readonly string[] | undefined): ResponseObject["headers"] {
  if (!names || names.length === 0) return undefined;
  return Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));
}

/** The named schemas of every operation, each name given to exactly one schema. */
function namedSchemas(functions: readonly FunctionDeclaration[]): Record<string, v.GenericSchema> {
  const named = new Map<string, v.GenericSchema>([["Problem", ProblemSchema]]);
  for (const fn of functions) {
    {
      const op = fn.route;
      for (const response of Object.values(op.responses)) {
        if (response.name === undefined) continue;
        if (!response.schema)
          throw new OpenApiError(`${fn.name}: response ${response.name} is named but has no schema`);
        const earlier = named.get(response.name);
        if (earlier && earlier !== response.schema) {
          throw new OpenApiError(`${fn.name}: the name ${response.name} is given to two different schemas`);
        }
        named.set(response.name, response.schema);
      }
    }
  }
  return Object.fromEntries(named);
}

function pathParameters(
  fn: FunctionDeclaration,
  op: HttpOperation,
  convert: ReturnType<typeof converter>,
): ParameterObject[] {
  const names = [...op.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? "");
  const described = Object.keys(op.pathParams ?? {});
  if (names.join() !== described.join()) {
    throw new OpenApiError(`${fn.name}: ${op.path} has parameters [${names}] but pathParams describes [${described}]`);
  }
  return Object.entries(op.pathParams ?? {}).map(([name, { schema, description }]) => ({
    name,
    in: "path",
    required: true,
    description,
    schema: convert.schema(schema),
  }));
}

function queryParameters(
  fn: FunctionDeclaration,
  op: HttpOperation,
  convert: ReturnType<typeof converter>,
): ParameterObject[] {
  if (!op.query) return [];
  const object = convert.schema(op.query.schema);
  const properties = object.type === "object" ? (object.properties ?? {}) : undefined;
  if (!properties) throw new OpenApiError(`${fn.name}: the query schema is not an object`);
  const names = Object.keys(properties);
  const undescribed = names.filter((name) => !(name in (op.query?.descriptions ?? {})));
  const unknown = Object.keys(op.query.descriptions).filter((name) => !names.includes(name));
  if (undescribed.length > 0 || unknown.length > 0) {
    throw new OpenApiError(
      `${fn.name}: query parameters without a description [${undescribed}], descriptions of no parameter [${unknown}]`,
    );
  }
  const required = new Set(object.required ?? []);
  return names.map((name) => {
    const schema = properties[name];
    if (typeof schema !== "object") throw new OpenApiError(`${fn.name}: query parameter ${name} has no schema`);
    return {
      name,
      in: "query",
      required: required.has(name),
      description: op.query?.descriptions[name] ?? "",
      schema,
    };
  });
}

function headerParameters(fn: FunctionDeclaration, op: HttpOperation): ParameterObject[] {
  const names: DocumentedHeader[] = [...(op.headers ?? [])];
  if (fn.tier === "writer") names.push("Idempotency-Key");
  names.push("X-Correlation-Id");
  return names.map((name) => ({ name, in: "header", required: false, ...REQUEST_HEADERS[name] }));
}

/**
 * Where a command's answer leads: its id and version into the read of that item (X-Min-Version,
 * read your own write) and its ETag into the next change of it (If-Match), so a stateful client,
 * a fuzzer's stateful phase among them, can follow a create to its read and its update.
 */
function linksOf(
  fn: FunctionDeclaration,
  op: HttpOperation,
  status: string,
  all: readonly FunctionDeclaration[],
): Record<string, LinkObject> | undefined {
  const response = op.responses[Number(status)];
  if (fn.tier !== "writer" || !response?.schema || !(response.headers ?? []).includes("ETag")) return undefined;
  const item = op.path.endsWith("/{id}") ? op.path : `${op.path}/{id}`;
  const links: Record<string, LinkObject> = {};
  for (const next of all) {
    if (next.route.path !== item) continue;
    const declared = new Set(next.route.headers ?? []);
    const parameters: Record<string, string> = { "path.id": "$response.body#/id" };
    if (declared.has("X-Min-Version")) parameters["header.X-Min-Version"] = "$response.body#/version";
    if (declared.has("If-Match")) parameters["header.If-Match"] = "$response.header.ETag";
    links[next.name] = {
      operationId: next.name,
      parameters,
      description: declared.has("If-Match")
        ? "Change it again, only if still at this version"
        : "Read it, once the read model holds this version",
    };
  }
  return Object.keys(links).length > 0 ? links : undefined;
}

function responses(
  fn: FunctionDeclaration,
  op: HttpOperation,
  convert: ReturnType<typeof converter>,
  all: readonly FunctionDeclaration[],
) {
  const out: Record<string, ResponseObject> = {};
  for (const [status, response] of Object.entries(op.responses)) {
    if (!/^[123]\d\d$/.test(status)) throw new OpenApiError(`${fn.name}: ${status} is not a success status`);
    const headers = headerRefs(response.headers);
    const links = linksOf(fn, op, status, all);
    out[status] = {
      description: response.description,
      ...(headers ? { headers } : {}),
      ...(response.schema ? { content: { "application/json": { schema: convert.schema(response.schema) } } } : {}),
      ...(links ? { links } : {}),
    };
  }
  const problems = new Map<number, string[]>();
  const add = (entries: Record<number, string>) => {
    for (const [status, text] of Object.entries(entries)) {
      problems.set(Number(status), [...(problems.get(Number(status)) ?? []), text]);
    }
  };
  // The operation's own meaning of a status first, then what any operation of its kind may mean by it.
  add(op.problems ?? {});
  if (fn.access !== "public") {
    add({ 401: "no bearer token, or one that is not valid (WWW-Authenticate says why)" });
    if (!fn.access.owner) add({ 403: `the token holds none of the roles ${fn.access.roles.join(", ")}` });
  }
  add(STANDARD_PROBLEMS);
  if (fn.tier === "writer") add(COMMAND_PROBLEMS);
  if (op.body) add(BODY_PROBLEMS);
  for (const status of [...problems.keys()].sort((a, b) => a - b)) {
    if (status < 400 || status > 599) throw new OpenApiError(`${fn.name}: problem ${status} is not an error status`);
    const text = (problems.get(status) ?? []).join("; or ");
    out[String(status)] = problemResponse(text.charAt(0).toUpperCase() + text.slice(1), status);
  }
  return out;
}

function operation(
  fn: FunctionDeclaration,
  op: HttpOperation,
  convert: ReturnType<typeof converter>,
  all: readonly FunctionDeclaration[],
): OperationObject {
  if (op.body && !v.is(op.body.schema, op.body.example)) {
    throw new OpenApiError(`${fn.name}: the body example does not pass the body schema`);
  }
  const parameters = [
    ...pathParameters(fn, op, convert),
    ...queryParameters(fn, op, convert),
    ...headerParameters(fn, op),
  ];
  return {
    operationId: fn.name,
    tags: [op.tag.name],
    summary: op.summary,
    description: `${fn.description} ${whoMay(fn)}`,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: convert.schema(op.body.schema), example: op.body.example } },
          },
        }
      : {}),
    responses: responses(fn, op, convert, all),
    ...securityOf(fn),
  };
}

/** Who may call it, in words. */
function whoMay(fn: FunctionDeclaration): string {
  if (fn.access === "public") return "Public: no token needed.";
  const roles = fn.access.roles.join(" or ");
  return fn.access.owner
    ? `Needs a bearer token: with ${roles}, any record; without, only the caller's own (another's is a 404).`
    : `Needs a bearer token with ${roles}.`;
}

/** Who may call it, as the document says it: no security, or a bearer token and the roles. */
function securityOf(fn: FunctionDeclaration): Pick<OperationObject, "security" | "x-roles"> {
  if (fn.access === "public") return { security: [] };
  return {
    security: [{ [BEARER]: [] }],
    "x-roles": { anyOf: [...fn.access.roles], ownRecords: fn.access.owner === true },
  };
}

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
}

const DEFAULT_INFO: DocumentInfo = {
  title: "cqrs-ts",
  version: "v1",
  description:
    "Commands (POST, PATCH, DELETE) go to the writer; queries (GET) read the eventually consistent read model. " +
    "Every error is application/problem+json. A command's answer holds the new version: pass it as X-Min-Version " +
    "to read your own write, or as If-Match to change only that version.",
};

/** The OpenAPI 3.1 document of `functions`' routes; throws OpenApiError on metadata that does not add up. */
export function buildOpenApi(
  functions: readonly FunctionDeclaration[],
  info: DocumentInfo = DEFAULT_INFO,
): OpenApiDocument {
  const definitions = namedSchemas(functions);
  const convert = converter(definitions);
  const paths: OpenApiDocument["paths"] = {};
  const tags = new Map<string, string>();
  const ids = new Set<string>();
  for (const fn of functions) {
    {
      const op = fn.route;
      const id = fn.name;
      if (ids.has(id)) throw new OpenApiError(`${fn.name}: operationId ${id} is used twice`);
      ids.add(id);
      const known = tags.get(op.tag.name);
      if (known !== undefined && known !== op.tag.description) {
        throw new OpenApiError(`${fn.name}: tag ${op.tag.name} is described two ways`);
      }
      tags.set(op.tag.name, op.tag.description);
      const item = paths[op.path] ?? {};
      if (item[op.method])
        throw new OpenApiError(`${fn.name}: ${op.method.toUpperCase()} ${op.path} is documented twice`);
      item[op.method] = operation(fn, op, convert, functions);
      paths[op.path] = item;
    }
  }
  return {
    openapi: "3.1.0",
    info,
    servers: [{ url: "/", description: "this gateway" }],
    tags: [...tags].map(([name, description]) => ({ name, description })),
    paths,
    components: { schemas: convert.components(), headers: RESPONSE_HEADERS, securitySchemes: SECURITY_SCHEMES },
  };
}
