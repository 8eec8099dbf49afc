// `npm run invoke -- <Function> '<json>'` runs one function's handler directly against the local
// stack (no gateway, no gRPC): a command writes its row and outbox event (a running writer's relay
// publishes it), a query reads the read model and cache. `--list` lists the functions.
import { readerHandlers } from "#functions/reader-registry.ts";
import { writerHandlers } from "#functions/writer-registry.ts";
import { connectReaderDeps } from "#services/reader/reader.ts";
import { connectWriterDeps } from "#services/writer/writer.ts";
import { ConfigError, loadConfig } from "#shared/platform/config.ts";
import { describeError, isDependencyDown } from "#shared/platform/dependency-errors.ts";
import { DomainError } from "#shared/platform/errors.ts";
import { createLog } from "#shared/platform/log.ts";
import { problemFor } from "#shared/transport/problem.ts";

const usage = "usage: npm run invoke -- <Function> '<json input>'   |   npm run invoke -- --list";
const kebab = (name: string) => name.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase();

const handlers = [...writerHandlers, ...readerHandlers];
type Handler = (typeof handlers)[number];

async function run(handler: Handler, input: unknown): Promise<unknown> {
  const config = loadConfig();
  const log = createLog("invoke", (line) => process.stderr.write(line));
  if (writerHandlers.some((writer) => writer === handler)) {
    const { sql, deps } = await connectWriterDeps(config);
    try {
      return await (handler as (typeof writerHandlers)[number]).invoke(deps, input);
    } finally {
      await sql.end({ timeout: 2 });
    }
  }
  const { deps, close } = await connectReaderDeps(config, log);
  try {
    return await (handler as (typeof readerHandlers)[number]).invoke(deps, input);
  } finally {
    await close();
  }
}

async function main(args: string[]): Promise<number> {
  if (args[0] === "--list" || args.length === 0) {
    for (const { declaration: fn } of handlers)
      console.log(`${fn.name.padEnd(16)} ${fn.tier.padEnd(7)} ${fn.path}  ${fn.description}`);
    if (args.length === 0) console.error(`\n${usage}`);
    return args.length === 0 ? 2 : 0;
  }
  const [name = "", json = "{}"] = args;
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
    console.log(JSON.stringify(await run(handler, input), null, 2));
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

main(process.argv.slice(2)).then((code) => process.exit(code));
