// compose.yaml, checked without a Docker engine (none runs on the build and CI machines): the Go
// program beside this file loads it with compose-go, the library Docker Compose itself loads
// compose files with, and these tests assert on the project it resolves. So what passes here is
// what `docker compose config` would accept and resolve to, including profiles and merge keys.
// The same program reads the otel/ files compose mounts (collector, Prometheus, Loki, Grafana), so
// the tests also check that those files and compose.yaml agree: paths, hosts and ports.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as v from "valibot";
import { CATALOG_ADMIN } from "#functions/products/product-api.ts";
import { USER_ADMIN } from "#functions/users/user-api.ts";
import { KAFKA_VERSION } from "#infra/kafka/kafka.ts";
import { SERVICE_ENV } from "#shared/platform/config.ts";
import { UNREACHED_BUDGETS } from "#tests/support/system.ts";

const root = path.resolve(import.meta.dirname, "../..");
const composeFile = path.join(root, "compose.yaml");

const INFRASTRUCTURE = {
  postgres: "postgres:15.14",
  mongodb: "mongo:7.0.16",
  redis: "redis:7.4.2",
  // The local stack's own Kafka version, so compose and `npm start` run the same broker.
  kafka: `apache/kafka:${KAFKA_VERSION}`,
  jaeger: "jaegertracing/jaeger:2.12.0",
  loki: "grafana/loki:3.7.3",
  prometheus: "prom/prometheus:v3.13.5",
  grafana: "grafana/grafana:12.4.3",
  keycloak: "quay.io/keycloak/keycloak:26.7.3",
} as const;

/** The collector's base image: compose builds it with a healthcheck probe added (see compose.yaml). */
const COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib:0.160.0";

const OURS = Object.keys(SERVICE_ENV) as (keyof typeof SERVICE_ENV)[];

// The part of compose-go's JSON these tests read; unknown keys are dropped, missing ones fail loudly.
const ServiceSchema = v.object({
  image: v.optional(v.string()),
  build: v.optional(
    v.object({
      context: v.string(),
      dockerfile: v.optional(v.string()),
      dockerfile_inline: v.optional(v.string()),
      target: v.optional(v.string()),
      args: v.optional(v.record(v.string(), v.nullable(v.string()))),
    }),
  ),
  command: v.optional(v.nullable(v.array(v.string()))),
  user: v.optional(v.string()),
  volumes: v.optional(
    v.array(
      v.object({
        type: v.string(),
        source: v.optional(v.string()),
        target: v.string(),
        read_only: v.optional(v.boolean()),
      }),
    ),
  ),
  logging: v.optional(
    v.object({ driver: v.optional(v.string()), options: v.optional(v.record(v.string(), v.string())) }),
  ),
  environment: v.optional(v.record(v.string(), v.nullable(v.string()))),
  depends_on: v.optional(v.record(v.string(), v.object({ condition: v.string() }))),
  healthcheck: v.optional(v.object({ test: v.optional(v.array(v.string())), disable: v.optional(v.boolean()) })),
  ports: v.optional(
    v.array(v.object({ target: v.number(), published: v.optional(v.string()), host_ip: v.optional(v.string()) })),
  ),
  profiles: v.optional(v.array(v.string())),
});
/** The part of Keycloak's realm representation (infra/keycloak/cqrs-ts-realm.json) checked here. */
const RealmSchema = v.object({
  realm: v.string(),
  roles: v.object({ realm: v.array(v.object({ name: v.string() })) }),
  clients: v.array(
    v.object({
      clientId: v.string(),
      publicClient: v.boolean(),
      directAccessGrantsEnabled: v.optional(v.boolean()),
      protocolMappers: v.array(v.object({ protocolMapper: v.string(), config: v.record(v.string(), v.string()) })),
    }),
  ),
  users: v.array(
    v.object({
      username: v.string(),
      email: v.optional(v.string()),
      firstName: v.optional(v.string()),
      lastName: v.optional(v.string()),
      credentials: v.optional(v.array(v.object({ type: v.string(), value: v.string() }))),
      realmRoles: v.array(v.string()),
      serviceAccountClientId: v.optional(v.string()),
    }),
  ),
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
      // A release, not a floating tag: PostgreSQL numbers its releases major.minor (15.14), the others x.y.z.
      assert.match(image, /:v?\d+\.\d+(\.\d+)?$/, `${name} is pinned to a version, not a floating tag`);
      assert.doesNotMatch(image, /:(latest|\d+)$/, `${name} is pinned to a version, not a floating tag`);
    }
    const [localMajor] = KAFKA_VERSION.split(".");
    assert.equal(localMajor, "4", "the local stack runs Kafka 4.x");
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

  test("the e2e service exists only with the test profile, and calls a gateway that trusts its tokens", () => {
    for (const name of ["e2e", "gateway-e2e"]) {
      assert.equal(project().services[name], undefined, `${name} must not start with a plain \`docker compose up\``);
    }
    const p = load(["test"]);
    for (const name of [...Object.keys(INFRASTRUCTURE), ...OURS]) service(p, name);
    const e2e = service(p, "e2e");
    assert.deepEqual(e2e.profiles, ["test"]);
    assert.equal(e2e.build?.target, "e2e");
    assert.equal(e2e.build?.context, root);
    assert.equal(e2e.depends_on?.["gateway-e2e"]?.condition, "service_healthy");
    const url = new URL(env(e2e, "E2E_GATEWAY_URL"));
    assert.equal(url.hostname, "gateway-e2e");
    const gateway = service(p, "gateway-e2e");
    assert.equal(url.port, env(gateway, "GATEWAY_PORT"));
    // The gateway image, unpublished, trusting the local issuer whose keys the tests sign with.
    assert.deepEqual(gateway.profiles, ["test"]);
    assert.equal(gateway.build?.target, "runtime");
    assert.equal(gateway.build?.args?.SERVICE, "gateway");
    assert.deepEqual(gateway.ports ?? [], []);
    assert.equal(gateway.environment?.AUTH_JWKS_URL, "", "gateway-e2e reads the local issuer's JWKS file");
    // The limiter on, with the budgets of every test system, which the suite's load never reaches.
    for (const [variable, value] of Object.entries(UNREACHED_BUDGETS)) assert.equal(env(gateway, variable), value);
    const keysVolume = (svc: Service) =>
      svc.volumes?.find((volume) => volume.target === env(svc, "AUTH_KEYS_DIR"))?.source ?? "(none)";
    assert.equal(keysVolume(gateway), keysVolume(e2e), "the tests' keys are the ones gateway-e2e trusts");
    for (const variable of SERVICE_ENV.gateway) {
      assert.equal(env(gateway, variable), env(service(p, "gateway"), variable), `gateway-e2e ${variable}`);
    }
  });

  test("the gateway trusts the Keycloak realm compose imports: its keys, issuer, audience and roles", () => {
    const p = project();
    const keycloak = service(p, "keycloak");
    const mount = keycloak.volumes?.find((volume) => volume.target.startsWith("/opt/keycloak/data/import/"));
    assert.ok(mount?.source && mount.read_only, "the realm file is mounted read-only into Keycloak's import folder");
    assert.equal(mount.source, path.join(root, "infra/keycloak/cqrs-ts-realm.json"));
    assert.ok(keycloak.command?.includes("--import-realm"), `keycloak command: ${keycloak.command}`);
    const realm = v.parse(RealmSchema, JSON.parse(fs.readFileSync(mount.source, "utf8")));

    // Keycloak names itself by KC_HOSTNAME, the address published on the host.
    const hostname = new URL(env(keycloak, "KC_HOSTNAME"));
    assert.ok(
      keycloak.ports?.some(
        (port) => port.published === hostname.port && port.target === 8080 && port.host_ip === "127.0.0.1",
      ),
      `KC_HOSTNAME ${hostname} is not where keycloak is published: ${JSON.stringify(keycloak.ports)}`,
    );

    const gateway = service(p, "gateway");
    assert.equal(gateway.depends_on?.keycloak?.condition, "service_healthy");
    assert.equal(
      env(gateway, "AUTH_JWKS_URL"),
      `http://keycloak:8080/realms/${realm.realm}/protocol/openid-connect/certs`,
    );
    assert.equal(env(gateway, "AUTH_ISSUER"), `${hostname.origin}/realms/${realm.realm}`);
    assert.equal(env(gateway, "AUTH_ROLES_CLAIM"), "realm_access.roles");
    // Every client puts the gateway's audience into its access tokens (Keycloak's default is "account").
    for (const client of realm.clients) {
      const audiences = client.protocolMappers
        .filter((mapper) => mapper.protocolMapper === "oidc-audience-mapper")
        .filter((mapper) => mapper.config["access.token.claim"] === "true")
        .map((mapper) => mapper.config["included.custom.audience"]);
      assert.deepEqual(audiences, [env(gateway, "AUTH_AUDIENCE")], `${client.clientId}'s audiences`);
    }

    // The roles the policy names, and the example users: one holding both, one neither.
    const roles = realm.roles.realm.map((role) => role.name);
    assert.deepEqual(roles.sort(), [CATALOG_ADMIN, USER_ADMIN].sort());
    const people = realm.users.filter((user) => user.serviceAccountClientId === undefined);
    assert.equal(people.length, 2);
    const held = (name: string) => people.find((user) => user.username === name)?.realmRoles ?? [];
    assert.ok([CATALOG_ADMIN, USER_ADMIN].every((role) => held("ada").includes(role)));
    assert.ok([CATALOG_ADMIN, USER_ADMIN].every((role) => !held("grace").includes(role)));
    for (const user of people) {
      // Keycloak's user profile asks for these before a password login is allowed.
      assert.ok(user.email && user.firstName && user.lastName && user.credentials?.length, user.username);
    }
    const cli = realm.clients.find((client) => client.clientId === "cqrs-ts-cli");
    assert.ok(cli?.publicClient && cli.directAccessGrantsEnabled, "cqrs-ts-cli is a public client with password grant");
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

// --- Telemetry: the otel/ files compose mounts, read with the same YAML library compose-go uses ----

const otelDir = path.join(root, "otel");

function readYaml<const TSchema extends v.GenericSchema>(file: string, schema: TSchema): v.InferOutput<TSchema> {
  const run = runLoader(["-yaml", file]);
  assert.equal(run.status, 0, `reading ${file} failed: ${run.stderr}`);
  return v.parse(schema, JSON.parse(run.stdout));
}

const Endpoint = v.object({ endpoint: v.string() });
const CollectorSchema = v.object({
  extensions: v.object({ health_check: Endpoint, file_storage: v.object({ directory: v.string() }) }),
  receivers: v.object({
    otlp: v.object({ protocols: v.object({ grpc: Endpoint, http: Endpoint }) }),
    "file_log/services": v.object({
      include: v.array(v.string()),
      storage: v.string(),
      operators: v.array(v.object({ type: v.string(), expr: v.optional(v.string()) })),
    }),
  }),
  exporters: v.object({ "otlp_grpc/jaeger": Endpoint, "otlp_http/loki": Endpoint }),
  service: v.object({
    extensions: v.array(v.string()),
    pipelines: v.record(v.string(), v.object({ receivers: v.array(v.string()), exporters: v.array(v.string()) })),
  }),
});
const PrometheusSchema = v.object({
  global: v.optional(v.object({ scrape_interval: v.optional(v.string()) })),
  scrape_configs: v.array(
    v.object({
      job_name: v.string(),
      metrics_path: v.optional(v.string()),
      scrape_interval: v.optional(v.string()),
      static_configs: v.array(v.object({ targets: v.array(v.string()) })),
    }),
  ),
});
const LokiSchema = v.object({ server: v.object({ http_listen_port: v.number() }) });
const DatasourcesSchema = v.object({
  datasources: v.array(
    v.object({
      uid: v.string(),
      type: v.string(),
      url: v.string(),
      jsonData: v.optional(
        v.object({
          derivedFields: v.optional(v.array(v.object({ datasourceUid: v.string() }))),
          tracesToLogsV2: v.optional(v.object({ datasourceUid: v.string() })),
        }),
      ),
    }),
  ),
});
const ProvidersSchema = v.object({ providers: v.array(v.object({ options: v.object({ path: v.string() }) })) });
const DatasourceRef = v.optional(v.object({ uid: v.string() }));
const DashboardSchema = v.object({
  panels: v.array(
    v.object({ datasource: DatasourceRef, targets: v.optional(v.array(v.object({ datasource: DatasourceRef }))) }),
  ),
});

const collectorConfig = () => readYaml(path.join(otelDir, "collector.yaml"), CollectorSchema);

/** The port of an `host:port` or URL endpoint. */
function portOf(endpoint: string): string {
  const match = /:(\d+)(?:\/.*)?$/.exec(endpoint);
  assert.ok(match?.[1], `${endpoint} has no port`);
  return match[1];
}

function hostOf(endpoint: string): string {
  return endpoint.includes("://") ? new URL(endpoint).hostname : endpoint.replace(/:\d+$/, "");
}

/** The file or folder in the repository that a service's bind mount with this target comes from. */
function mountSource(svc: Service, target: string): string {
  const mount = (svc.volumes ?? []).find((volume) => volume.target === target);
  assert.ok(mount, `nothing is mounted at ${target}`);
  assert.equal(mount.type, "bind", `${target} is a bind mount`);
  assert.ok(mount.source, `${target} has a source`);
  assert.equal(mount.read_only, true, `${target} is mounted read-only`);
  return mount.source;
}

/** The value of a `--flag=value` or `-flag=value` argument of a service's command. */
function flagValue(svc: Service, flag: string): string {
  const argument = (svc.command ?? []).find((arg) => arg.startsWith(`${flag}=`));
  assert.ok(argument, `${flag}= is not in the command ${JSON.stringify(svc.command)}`);
  return argument.slice(flag.length + 1);
}

describe("compose.yaml: telemetry", () => {
  test("the collector is built from the pinned contrib image with only a healthcheck probe added", () => {
    const collector = service(project(), "otel-collector");
    assert.equal(collector.image, undefined);
    const dockerfile = collector.build?.dockerfile_inline ?? "";
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((match) => match[1] ?? "");
    assert.equal(froms.at(-1), COLLECTOR_IMAGE, `the final stage is the contrib image:\n${dockerfile}`);
    for (const image of froms) assert.match(image, /:\d+\.\d+\.\d+(-[a-z]+)?$/, `${image} is pinned to a version`);
    const probe = collector.healthcheck?.test ?? [];
    assert.equal(probe[0], "CMD");
    assert.ok(
      probe[1] && dockerfile.includes(` ${probe[1]}\n`),
      `the healthcheck runs ${probe[1]}, which the build copies in`,
    );
    const health = collectorConfig().extensions.health_check.endpoint;
    assert.ok(
      probe.some((arg) => arg.includes(`:${portOf(health)}/`)),
      `healthcheck ${probe.join(" ")} vs ${health}`,
    );
  });

  test("our services send traces to the collector's OTLP/HTTP port and name themselves", () => {
    const p = project();
    const http = collectorConfig().receivers.otlp.protocols.http.endpoint;
    for (const name of OURS) {
      const svc = service(p, name);
      const endpoint = new URL(env(svc, "OTEL_EXPORTER_OTLP_ENDPOINT"));
      assert.equal(endpoint.hostname, "otel-collector", `${name} OTLP endpoint`);
      assert.equal(endpoint.port, portOf(http), `${name} OTLP port vs the collector's receiver`);
      assert.equal(env(svc, "OTEL_SERVICE_NAME"), name);
      assert.equal(svc.depends_on?.["otel-collector"]?.condition, "service_healthy");
    }
  });

  test("our services' logs are json-file lines tagged with their service, which the collector picks", () => {
    const p = project();
    const config = collectorConfig();
    const filelog = config.receivers["file_log/services"];
    const filter = filelog.operators.find((operator) => operator.type === "filter")?.expr ?? "";
    const kept = [...filter.matchAll(/"([a-z-]+)"/g)].map((match) => match[1]);
    assert.ok(filter.includes('"com.docker.compose.service"'), `filter: ${filter}`);
    assert.deepEqual(kept.filter((name) => name !== "com.docker.compose.service").sort(), [...OURS].sort());
    for (const name of OURS) {
      const logging = service(p, name).logging;
      assert.equal(logging?.driver, "json-file", `${name} logging driver`);
      assert.ok(
        (logging?.options?.labels ?? "").split(",").includes("com.docker.compose.service"),
        `${name} tags its log lines with its service`,
      );
    }
    // The collector reads the folder compose mounts and keeps its offsets on a volume.
    const collector = service(p, "otel-collector");
    for (const pattern of filelog.include) {
      assert.ok(
        (collector.volumes ?? []).some((volume) => volume.read_only && pattern.startsWith(`${volume.target}/`)),
        `${pattern} is not inside a read-only mount`,
      );
    }
    assert.equal(filelog.storage, "file_storage");
    const storage = (collector.volumes ?? []).find(
      (volume) => volume.target === config.extensions.file_storage.directory,
    );
    assert.equal(storage?.type, "volume", "the file_log offsets outlive the container");
  });

  test("the collector forwards traces to Jaeger and logs to Loki, and no metrics at all", () => {
    const p = project();
    const config = collectorConfig();
    const loki = readYaml(path.join(otelDir, "loki.yaml"), LokiSchema);
    const jaeger = config.exporters["otlp_grpc/jaeger"].endpoint;
    assert.equal(hostOf(jaeger), "jaeger");
    assert.equal(portOf(jaeger), "4317", "the Jaeger image's OTLP gRPC port");
    const lokiUrl = new URL(config.exporters["otlp_http/loki"].endpoint);
    assert.equal(lokiUrl.hostname, "loki");
    assert.equal(lokiUrl.port, String(loki.server.http_listen_port));
    assert.equal(lokiUrl.pathname, "/otlp", "Loki's native OTLP endpoint (the exporter adds /v1/logs)");
    for (const host of ["jaeger", "loki"]) service(p, host);
    const pipelines = config.service.pipelines;
    assert.deepEqual(Object.keys(pipelines).sort(), ["logs", "traces"], "metrics reach Prometheus by scrape only");
    assert.deepEqual(pipelines.traces?.exporters, ["otlp_grpc/jaeger"]);
    assert.deepEqual(pipelines.logs?.receivers, ["file_log/services"]);
    assert.deepEqual(pipelines.logs?.exporters, ["otlp_http/loki"]);
    // The ports compose publishes are the ones the collector listens on.
    const listening = [
      config.receivers.otlp.protocols.grpc.endpoint,
      config.receivers.otlp.protocols.http.endpoint,
    ].map((endpoint) => Number(portOf(endpoint)));
    const published = (service(p, "otel-collector").ports ?? []).map((port) => port.target);
    assert.deepEqual(published.sort(), listening.sort());
  });

  test("every otel/ file compose mounts exists in the repository and is read where it is mounted", () => {
    const p = project();
    let mounted = 0;
    for (const [name, svc] of Object.entries(p.services)) {
      for (const volume of svc.volumes ?? []) {
        if (volume.type !== "bind" || !volume.source?.startsWith(`${root}${path.sep}`)) continue;
        assert.ok(
          fs.existsSync(volume.source),
          `${name} mounts ${path.relative(root, volume.source)}, which is missing`,
        );
        mounted += 1;
      }
    }
    assert.ok(mounted >= 5, `only ${mounted} files of the repository are mounted`);

    const collector = service(p, "otel-collector");
    assert.equal(mountSource(collector, flagValue(collector, "--config")), path.join(otelDir, "collector.yaml"));
    const prometheus = service(p, "prometheus");
    assert.equal(
      mountSource(prometheus, flagValue(prometheus, "--config.file")),
      path.join(otelDir, "prometheus.yaml"),
    );
    const loki = service(p, "loki");
    assert.equal(mountSource(loki, flagValue(loki, "-config.file")), path.join(otelDir, "loki.yaml"));

    const grafana = service(p, "grafana");
    const provisioning = mountSource(grafana, "/etc/grafana/provisioning");
    assert.equal(provisioning, path.join(otelDir, "grafana", "provisioning"));
    const providers = readYaml(path.join(provisioning, "dashboards", "dashboards.yaml"), ProvidersSchema).providers;
    assert.ok(providers.length > 0, "no dashboard provider");
    for (const provider of providers) {
      const folder = mountSource(grafana, provider.options.path);
      assert.ok(
        fs.readdirSync(folder).some((file) => file.endsWith(".json")),
        `no dashboard in ${folder}`,
      );
    }
    const home = env(grafana, "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH");
    const homeFolder = mountSource(grafana, path.posix.dirname(home));
    assert.ok(fs.existsSync(path.join(homeFolder, path.posix.basename(home))), `home dashboard ${home} is missing`);
  });

  test("Prometheus scrapes each of our services on the metrics port compose gives it, every 5 s", () => {
    const p = project();
    const config = readYaml(mountSource(service(p, "prometheus"), "/etc/prometheus/prometheus.yml"), PrometheusSchema);
    const httpPortOf = {
      gateway: "GATEWAY_METRICS_PORT",
      writer: "WRITER_HTTP_PORT",
      reader: "READER_HTTP_PORT",
    } as const;
    const expected = OURS.map((name) => `${name}:${env(service(p, name), httpPortOf[name])}`).sort();
    const scraped = config.scrape_configs.flatMap((job) => job.static_configs.flatMap((group) => group.targets)).sort();
    assert.deepEqual(scraped, expected, "scrape targets vs the services' metrics ports in compose.yaml");
    for (const job of config.scrape_configs) {
      assert.equal(job.metrics_path ?? "/metrics", "/metrics", `${job.job_name} metrics path`);
      assert.equal(job.scrape_interval ?? config.global?.scrape_interval, "5s", `${job.job_name} scrape interval`);
      // The job is named after its service: dashboards select a service by job.
      assert.deepEqual(job.static_configs.flatMap((group) => group.targets).map(hostOf), [job.job_name]);
    }
  });

  test("Grafana is published on loopback for anonymous viewers, its data sources are our containers", () => {
    const p = project();
    const grafana = service(p, "grafana");
    assert.ok(
      (grafana.ports ?? []).some(
        (port) => port.target === 3000 && port.published === "3000" && port.host_ip === "127.0.0.1",
      ),
      `grafana ports: ${JSON.stringify(grafana.ports)}`,
    );
    assert.equal(env(grafana, "GF_AUTH_ANONYMOUS_ENABLED"), "true");
    assert.equal(env(grafana, "GF_AUTH_ANONYMOUS_ORG_ROLE"), "Viewer");

    const provisioning = mountSource(grafana, "/etc/grafana/provisioning");
    const { datasources } = readYaml(path.join(provisioning, "datasources", "datasources.yaml"), DatasourcesSchema);
    const uids = new Set(datasources.map((source) => source.uid));
    const byType = new Map(datasources.map((source) => [source.type, source]));
    const lokiPort = String(readYaml(path.join(otelDir, "loki.yaml"), LokiSchema).server.http_listen_port);
    const expected = [
      { type: "prometheus", host: "prometheus", port: "9090" },
      { type: "loki", host: "loki", port: lokiPort },
      { type: "jaeger", host: "jaeger", port: "16686" },
    ];
    for (const { type, host, port } of expected) {
      const source = byType.get(type);
      assert.ok(source, `no ${type} data source`);
      const url = new URL(source.url);
      assert.equal(url.hostname, host, `${type} data source host`);
      assert.equal(url.port, port, `${type} data source port`);
      assert.equal(grafana.depends_on?.[host]?.condition, "service_healthy", `grafana waits for ${host}`);
    }
    // Logs link to traces and traces to logs, through data sources that exist.
    const links = datasources.flatMap((source) => [
      ...(source.jsonData?.derivedFields ?? []).map((field) => field.datasourceUid),
      ...(source.jsonData?.tracesToLogsV2 ? [source.jsonData.tracesToLogsV2.datasourceUid] : []),
    ]);
    assert.deepEqual(links.sort(), [byType.get("jaeger")?.uid, byType.get("loki")?.uid].sort());
    for (const uid of links) assert.ok(uids.has(uid), `link to missing data source ${uid}`);
    // Every panel and query of the dashboards names a provisioned data source.
    const dashboards = path.join(otelDir, "grafana", "dashboards");
    for (const file of fs.readdirSync(dashboards).filter((name) => name.endsWith(".json"))) {
      const { panels } = v.parse(DashboardSchema, JSON.parse(fs.readFileSync(path.join(dashboards, file), "utf8")));
      for (const panel of panels) {
        for (const ref of [panel.datasource, ...(panel.targets ?? []).map((target) => target.datasource)]) {
          if (ref) assert.ok(uids.has(ref.uid), `${file}: data source ${ref.uid} is not provisioned`);
        }
      }
    }
  });

  test("every published port is on loopback only", () => {
    for (const [name, svc] of Object.entries(load(["test"]).services)) {
      for (const port of svc.ports ?? []) {
        assert.equal(port.host_ip, "127.0.0.1", `${name} publishes ${port.published} on all interfaces`);
      }
    }
  });
});
