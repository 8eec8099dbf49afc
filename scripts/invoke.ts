// `npm run invoke -- <Function> '<json>'` runs one function's handler directly against the local
// stack (no gateway, no gRPC): a command writes its row and outbox event (a running writer's relay
// publishes it), a query reads the read model and cache. `--list` lists the functions. The call is
// recorded as a local actor (`--as`, default local:<user name>), with every role unless `--roles`.
import { randomUUID } from "node:crypto";
import os from "node:os";
import { CATALOG_ADMIN } from "#functions/products/product-api.ts";
import { USER_ADMIN } from "#functions/users/user-api.ts";
import { ConfigError, loadConfig } from "#shared/platform/config.ts";
import { describeError, isDependencyDown } from "#shared/platform/dependency-errors.ts";
import { DomainError } from "#shared/platform/errors.ts";
import { createLog } from "#shared/platform/log.ts";
import type { CallContext } from "#shared/transport/caller.ts";
import { problemFor } from "#shared/transport/problem.ts";
import { parseCommandLine } from "./command-line.ts";

const ALL_ROLES = [CATALOG_ADMIN, USER_ADMIN];
const usage = `usage: npm run invoke -- <Function> '<json input>' [--as <subject>] [--roles r1,r2]
                                              run one function's handler against the local stack
       npm run invoke -- --list                      the functions: name, tier, route, description
  --as     who the call is recorded as (events' actor); default local:<your user name>
  --roles  the caller's roles; default every role (${ALL_ROLES.join(", ")})`;
const kebab = (name: string) => name.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase();

type WriterHandler = typeof import("#functions/writer-registry.ts")["writerHandlers"][number];
type ReaderHandler = typeof import("#functions/reader-registry.ts")["readerHandlers"][number];

async function run(
  handler: WriterHandler | ReaderHandler,
  tier: "writer" | "reader",
  input: unknown,
  as: CallContext,
): Promise<unknown> {
  const config = loadConfig();
  const log = createLog("invoke", (line) => process.stderr.write(line));
  if (tier === "writer") {
    const { connectWriterDeps } = await import("#services/writer/writer.ts");
    const { sql, deps } = await connectWriterDeps(config);
    try {
      return await (handler as WriterHandler).invoke(deps, input, as);
    } finally {
      await sql.end({ timeout: 2 });
    }
  }
  const { connectReaderDeps } = await import("#services/reader/reader.ts");
  const { deps, close } = await connectReaderDeps(config, log);
  try {
    return await (handler as ReaderHandler).invoke(deps, input, as);
  } finally {
    await close();
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine("invoke", usage, {
    allowPositionals: true,
    options: {
      list: { type: "boolean", default: false },
      as: { type: "string", default: `local:${os.userInfo().username}` },
      roles: { type: "string", default: ALL_ROLES.join(",") },
    },
  });
  if (positionals.length > 2 || (values.list && positionals.length > 0)) {
    console.error("invoke: too many arguments (--help shows the usage)");
    return 2;
  }
  // Loaded only now: the handlers bring every client library (a second of loading), which --help
  // and a mistyped option do without.
  const [{ writerHandlers }, { readerHandlers }] = await Promise.all([
    import("#functions/writer-registry.ts"),
    import("#functions/reader-registry.ts"),
  ]);
  const handlers = [...writerHandlers, ...readerHandlers];
  if (values.list || positionals.length === 0) {
    for (const { declaration: fn } of handlers)
      console.log(`${fn.name.padEnd(16)} ${fn.tier.padEnd(7)} ${fn.path}  ${fn.description}`);
    if (!values.list) console.error(`\n${usage}`);
    return values.list ? 0 : 2;
  }
  const [name = "", json = "{}"] = positionals;
  const handler = handlers.find(({ declaration: d }) => d.name === name || kebab(d.name) === name);
  if (!handler) {
    console.error(`no function '${name}'; npm run invoke -- --list shows them`);
    return 2;
  }
  let input: unknown;
  try {
    input = JSON.parse(json);
  } catch (error) {
    console.error(`the input is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  try {
    const tier = writerHandlers.some((writer) => writer === handler) ? "writer" : "reader";
    const roles = values.roles
      .split(",")
      .map((role) => role.trim())
      .filter((role) => role !== "");
    const as: CallContext = { actor: { subject: values.as, roles }, correlationId: randomUUID() };
    console.log(JSON.stringify(await run(handler, tier, input, as), null, 2));
    return 0;
  } catch (error) {
    if (error instanceof DomainError) {
      console.error(JSON.stringify(problemFor(error), null, 2));
      return 1;
    }
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    const why = describeError(error);
    const hint = isDependencyDown(error) ? " (is the local stack up? npm run infra -- status)" : "";
    console.error(`invoke: ${name} failed: ${why}${hint}`);
    if (process.env.DEBUG && error instanceof Error) console.error(error.stack);
    return 1;
  }
}

main().then((code) => process.exit(code));
