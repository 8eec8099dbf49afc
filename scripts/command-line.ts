// The arguments of every command-line script (scripts/*.ts, infra/cli.ts), parsed the same way by
// node:util's parseArgs: `--help` or `-h` prints the script's usage and exits 0; an option it does not
// know, or an argument it does not take, is one line on stderr and exit 2. Each script calls it
// before anything else, so that neither answer provisions or connects to anything.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { ConfigError } from "#shared/platform/config.ts";

type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/**
 * Runs a script's `main` and exits with its code; a failure is one line naming the script, and
 * exit 2 for a configuration error (as for a wrong argument), else 1.
 */
export function runMain(script: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`${script}: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    },
  );
}

/** `config` as for parseArgs (strict; `help` is added); exits on `--help` and on a wrong argument. */
export function parseCommandLine<T extends ParseArgsConfig>(script: string, usage: string, config: T): Parsed<T> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      ...config,
      strict: true,
      options: { ...config.options, help: { type: "boolean", short: "h" } },
    });
  } catch (error) {
    // Node's first sentence says what is wrong; the rest is advice about `--` that no script here needs.
    const message = error instanceof Error ? (error.message.split(". ")[0] ?? error.message) : String(error);
    console.error(`${script}: ${message.charAt(0).toLowerCase()}${message.slice(1)} (--help shows the usage)`);
    process.exit(2);
  }
  if (parsed.values.help === true) {
    console.log(usage);
    process.exit(0);
  }
  return parsed as Parsed<T>;
}
