// compose.yaml, checked without a Docker engine (none runs on the build and CI machines): the Go
// program beside this file loads it with compose-go, the library Docker Compose itself loads
// compose files with, and these tests assert on the project it resolves. So what passes here is
// what `docker compose config` would accept and resolve to, including profiles and merge keys.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as v from "valibot";
import { SERVICE_ENV } from "../../shared/config.ts";

const root = path.resolve(import.meta.dirname, "../..");
const composeFile = path.join(root, "compose.yaml");

const INFRASTRUCTURE = {
  postgres: "postgres:15",
  mongodb: "mongo:7",
  redis: "redis:7",
  kafka: "confluentinc/cp-kafka:7.9.0",
  jaeger: "jaegertracing/jaeger:2.12.0",
} as const;

const OURS = Object.keys(SERVICE_ENV) as (keyof typeof SERVICE_ENV)[];

// The part of compose-go's JSON these tests read; unknown keys are dropped, missing ones fail loudly.
const ServiceSchema = v.object({
  image: v.optional(v.string()),
  build: v.optional(
    v.object({
      context: v.string(),
      dockerfile: v.optional(v.string()),
      target: v.optional(v.string()),
      args: v.optional(v.record(v.string(), v.nullable(v.string()))),
    }),
  ),
  environment: v.optional(v.record(v.string(), v.nullable(v.string()))),
  depends_on: v.optional(v.record(v.string(), v.object({ condition: v.string() }))),
  healthcheck: v.optional(v.object({ test: v.optional(v.array(v.string())), disable: v.optional(v.boolean()) })),
  ports: v.optional(v.array(v.object({ target: v.number(), published: v.optional(v.string()) }))),
  profiles: v.optional(v.array(v.string())),
});
const ProjectSchema = v.object({ name: v.string(), services: v.record(v.string(), ServiceSchema) });
type Project = v.InferOutput<typeof ProjectSchema>;
type Service = v.InferOutput<typeof ServiceSchema>;

let workDir = "";
let loader = "";

before(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "compose-spec-"));
  loader = path.join(workDir, "compose-loader");
  // A built binary rather than `go run`, so each load below costs milliseconds and its stderr is the
  // program's own (go run appends "exit status 1"). GOCACHE makes every build after the first fast.
  const build = spawnSync("go", ["build", "-buildvcs=false", "-o", loader, "."], {
    cwd: import.meta.dirname,
    encoding: "utf8",
  });
  if (build.error)
    throw new Error(`cannot run go (needed to load compose.yaml like Docker Compose): ${build.error.message}`);
  assert.equal(build.status, 0, `go build of the compose loader failed:\n${build.stderr}`);
});

after(() => {
  if (workDir !== "") fs.rmSync(workDir, { recursive: true, force: true });
});

function runLoader(args: string[]) {
  // COMPOSE_PROFILES, COMPOSE_FILE, COMPOSE_PROJECT_NAME... in the caller's shell would change what
  // docker compose loads; the tests must see the file alone.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("COMPOSE_")));
  const run = spawnSync(loader, args, { encoding: "utf8", env });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function load(profiles: string[] = [], file = composeFile): Project {
  const run = runLoader(["-file", file, ...profiles.flatMap((profile) => ["-profile", profile])]);
  assert.equal(run.status, 0, `loading ${file} failed: ${run.stderr}`);
  return v.parse(ProjectSchema, JSON.parse(run.stdout));
}

function service(project: Project, name: string): Service {
  const found = project.services[name];
  assert.ok(found, `compose.yaml has no service "${name}" (it has ${Object.keys(project.services).join(", ")})`);
  return found;
}

function env(svc: Service, name: string): string {
  const value = svc.environment?.[name];
  assert.ok(typeof value === "string" && value !== "", `${name} is not set`);
  return value;
}

/** Host and port of each peer a variable names: URLs, or comma-separated host:port lists. */
function peersIn(name: string, value: string): { host: string; port: string }[] {
  if (/_(URL|ENDPOINT)$/.test(name)) {
    const url = new URL(value);
    return [{ host: url.hostname, port: url.port }];
  }
  if (/_(ADDRESS|BROKERS)$/.test(name)) {
    return value.split(",").map((part) => {
      const match = /^([^:]+):(\d+)$/.exec(part.trim());
      assert.ok(match?.[1] && match[2], `${name}=${value}: "${part}" is not host:port`);
      return { host: match[1], port: match[2] };
    });
  }
  return [];
}

const project = () => load();

describe("compose.yaml", () => {
  test("infrastructure runs the pinned images", () => {
    const p = project();
    for (const [name, image] of Object.entries(INFRASTRUCTURE)) {
      const svc = service(p, name);
      assert.equal(svc.image, image, `${name} image`);
      assert.equal(svc.build, undefined, `${name} is an image, not a build`);
    }
  });

  test("our services build the Dockerfile's runtime stage with SERVICE set to their name", () => {
    const p = project();
    const dockerfile = fs.readFileSync(path.join(root, "Dockerfile"), "utf8");
    for (const name of OURS) {
      const build = service(p, name).build;
      assert.ok(build, `${name} has no build`);
      assert.equal(build.context, root, `${name} build context`);
      assert.equal(build.dockerfile ?? "Dockerfile", "Dockerfile", `${name} dockerfile`);
      assert.equal(build.target, "runtime", `${name} build target`);
      assert.equal(build.args?.SERVICE, name, `${name} build arg SERVICE`);
      // A target the Dockerfile lacks would only fail at `docker compose build`.
      assert.match(dockerfile, new RegExp(`^FROM\\s+\\S+\\s+AS\\s+${build.target}\\s*$`, "im"));
    }
    assert.match(dockerfile, /^ARG\s+SERVICE\s*$/m, "the Dockerfile reads the SERVICE build argument");
  });

  test("each of our services sets every variable SERVICE_ENV lists, pointing at containers", () => {
    const p = project();
    for (const name of OURS) {
      const svc = service(p, name);
      for (const variable of SERVICE_ENV[name]) {
        const value = env(svc, variable);
        assert.doesNotMatch(value, /127\.0\.0\.1|localhost|\[::1\]/i, `${name}: ${variable}=${value} is loopback`);
        if (variable.endsWith("_HOST")) {
          // A service bound to its own loopback is unreachable from the other containers.
          assert.equal(value, "0.0.0.0", `${name}: ${variable} must listen on all interfaces`);
        }
        if (variable.endsWith("_PORT")) {
          assert.match(value, /^\d{1,5}$/, `${name}: ${variable}=${value} is not a port`);
        }
        for (const peer of peersIn(variable, value)) {
          assert.ok(p.services[peer.host], `${name}: ${variable}=${value} names "${peer.host}", which is no service`);
          assert.ok(svc.depends_on?.[peer.host], `${name}: ${variable} names "${peer.host}" but does not depend on it`);
        }
      }
    }
  });

  test("addresses of our services use the ports those services listen on", () => {
    const p = project();
    const ports = new Map(OURS.map((name) => [name, env(service(p, name), `${name.toUpperCase()}_PORT`)]));
    let checked = 0;
    for (const name of OURS) {
      const svc = service(p, name);
      for (const variable of SERVICE_ENV[name]) {
        for (const peer of peersIn(variable, env(svc, variable))) {
          const listening = ports.get(peer.host as (typeof OURS)[number]);
          if (listening === undefined) continue;
          assert.equal(peer.port, listening, `${name}: ${variable} port vs ${peer.host}'s own port`);
          checked += 1;
        }
      }
    }
    assert.ok(checked >= 2, "the gateway's WRITER_ADDRESS and READER_ADDRESS were checked");
  });

  test("our services' healthchecks ask their own HTTP port", () => {
    const p = project();
    const httpPortOf = { gateway: "GATEWAY_PORT", writer: "WRITER_HTTP_PORT", reader: "READER_HTTP_PORT" } as const;
    for (const name of OURS) {
      const svc = service(p, name);
      const command = (svc.healthcheck?.test ?? []).join(" ");
      assert.match(command, /healthz|readyz/, `${name} healthcheck: ${command}`);
      assert.ok(
        command.includes(`:${env(svc, httpPortOf[name])}/`),
        `${name} healthcheck uses another port: ${command}`,
      );
    }
  });

  test("every dependency waits for a healthcheck that exists", () => {
    for (const p of [load(), load(["test"])]) {
      let edges = 0;
      for (const [name, svc] of Object.entries(p.services)) {
        for (const [dependency, { condition }] of Object.entries(svc.depends_on ?? {})) {
          edges += 1;
          assert.equal(condition, "service_healthy", `${name} -> ${dependency}`);
          const healthcheck = service(p, dependency).healthcheck;
          const command = healthcheck?.test ?? [];
          assert.ok(
            healthcheck?.disable !== true && command.length > 0 && command[0] !== "NONE",
            `${name} waits for ${dependency} to be healthy, which has no healthcheck`,
          );
        }
      }
      assert.ok(edges > 0, "no depends_on at all");
    }
    const gateway = service(project(), "gateway");
    assert.ok(gateway.depends_on?.writer && gateway.depends_on.reader, "the gateway waits for writer and reader");
  });

  test("the gateway is published on 8080", () => {
    const ports = service(project(), "gateway").ports ?? [];
    assert.ok(
      ports.some((port) => port.target === 8080 && port.published === "8080"),
      `gateway ports: ${JSON.stringify(ports)}`,
    );
  });

  test("the e2e service exists only with the test profile", () => {
    assert.equal(project().services.e2e, undefined, "e2e must not start with a plain `docker compose up`");
    const p = load(["test"]);
    for (const name of [...Object.keys(INFRASTRUCTURE), ...OURS]) service(p, name);
    const e2e = service(p, "e2e");
    assert.deepEqual(e2e.profiles, ["test"]);
    assert.equal(e2e.build?.target, "e2e");
    assert.equal(e2e.build?.context, root);
    assert.equal(e2e.depends_on?.gateway?.condition, "service_healthy");
    const url = new URL(env(e2e, "E2E_GATEWAY_URL"));
    assert.equal(url.hostname, "gateway");
    assert.equal(url.port, env(service(p, "gateway"), "GATEWAY_PORT"));
  });

  test("a depends_on naming a missing service is rejected with a one-line message", () => {
    const original = fs.readFileSync(composeFile, "utf8");
    const dir = fs.mkdtempSync(path.join(workDir, "broken-"));
    const copy = path.join(dir, "compose.yaml");

    // The unchanged copy loads from the temp folder, so the failure below is the edit's doing.
    fs.writeFileSync(copy, original);
    assert.ok(Object.keys(load([], copy).services).length > 0);

    // A new first entry in the first depends_on block, indented like the entry it precedes.
    const broken = original.replace(
      /^( +)depends_on:\n( +)/m,
      (_, outer: string, inner: string) =>
        `${outer}depends_on:\n${inner}no-such-service:\n${inner}  condition: service_healthy\n${inner}`,
    );
    assert.notEqual(broken, original, "compose.yaml has no block-style depends_on to break");
    fs.writeFileSync(copy, broken);
    const run = runLoader(["-file", copy]);
    assert.notEqual(run.status, 0, "the loader accepted a dependency on a missing service");
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /depends on undefined service "no-such-service"/);
    assert.equal(run.stderr.trimEnd().split("\n").length, 1, `not one line: ${run.stderr}`);
  });
});
