// `npm run dlq -- <verb>`: the projections' dead letters (scripts/dlq/dead-letters.ts).
//   list [topic]                      count, then one line each: ref, state, age, origin, event, aggregate, reason
//   show <ref>                        its headers and payload
//   replay <ref>|--all [--reason R]   publish again to the origin topic; marked replayed
//   discard <ref>|--all [--reason R]  marked discarded
// It reads KAFKA_BROKERS, KAFKA_TOPIC_PREFIX and KAFKA_PARTITIONS like the services (the local
// stack by default).
import { ConfigError, loadConfig } from "#shared/platform/config.ts";
import { kafkaClient } from "#shared/platform/kafka.ts";
import { parseCommandLine } from "./command-line.ts";
import { type DeadLetter, DeadLetters, parseRef } from "./dlq/dead-letters.ts";

const HELP = `usage: npm run dlq -- list [TOPIC]
       npm run dlq -- show REF
       npm run dlq -- replay REF | --all [--reason TEXT]
       npm run dlq -- discard REF | --all [--reason TEXT]

  the projections' dead letters: messages a reader could never apply, in <topic>.dlq
  REF            <dlq topic>:<partition>:<offset>, as list shows it
  --all          every pending dead letter (with --reason, those whose reason contains TEXT)
  --reason TEXT  only with --all
  -h, --help     this text`;

const age = (ms: number) => {
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
};

export function formatLetter(letter: DeadLetter): string {
  const origin = `${letter.origin.topic}[${letter.origin.partition}]@${letter.origin.offset}`;
  return [
    letter.ref,
    letter.state,
    age(letter.at),
    origin,
    letter.eventType || "-",
    letter.aggregateId || "-",
    letter.reason,
  ].join("  ");
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine("dlq", HELP, {
    allowPositionals: true,
    options: { all: { type: "boolean", default: false }, reason: { type: "string" } },
  });
  const [verb, argument, ...extra] = positionals;
  const usage = (why: string) => {
    console.error(`dlq: ${why} (--help shows the usage)`);
    return 2;
  };
  if (extra.length > 0) return usage(`unexpected ${extra.join(" ")}`);
  if (values.reason !== undefined && !values.all) return usage("--reason goes with --all");
  const config = loadConfig();
  const letters = new DeadLetters(
    kafkaClient(config.kafka.brokers, "dlq-tool"),
    config.kafka.topicPrefix,
    config.kafka.partitions,
  );
  switch (verb) {
    case "list": {
      if (values.all) return usage("list takes no --all");
      const found = await letters.list(argument);
      const pending = found.filter((letter) => letter.state === "pending").length;
      console.log(`${found.length} dead letters, ${pending} pending`);
      for (const letter of found) console.log(formatLetter(letter));
      return 0;
    }
    case "show": {
      if (!argument || !parseRef(argument)) return usage("show takes one REF (<dlq topic>:<partition>:<offset>)");
      const ref = parseRef(argument);
      const letter = (await letters.list(ref?.topic)).find((l) => l.ref === argument);
      if (!letter) {
        console.error(`dlq: no dead letter ${argument}`);
        return 1;
      }
      console.log(formatLetter(letter));
      for (const [name, value] of Object.entries(letter.message.headers)) console.log(`${name}: ${value}`);
      console.log("");
      try {
        console.log(JSON.stringify(JSON.parse(letter.message.value), null, 2));
      } catch {
        console.log(letter.message.value);
      }
      return 0;
    }
    case "replay":
    case "discard": {
      if (values.all === (argument !== undefined)) return usage(`${verb} takes one REF or --all`);
      if (argument !== undefined && !parseRef(argument)) return usage(`${argument} is no REF`);
      const all = await letters.list(argument ? parseRef(argument)?.topic : undefined);
      const chosen = argument
        ? all.filter((letter) => letter.ref === argument)
        : all.filter((l) => l.state === "pending" && (values.reason === undefined || l.reason.includes(values.reason)));
      if (argument && chosen.length === 0) {
        console.error(`dlq: no dead letter ${argument}`);
        return 1;
      }
      if (verb === "replay") await letters.replay(chosen);
      else await letters.discard(chosen);
      console.log(`${verb === "replay" ? "replayed" : "discarded"} ${chosen.length}`);
      for (const letter of chosen) console.log(`  ${letter.ref}`);
      return 0;
    }
    default:
      return usage(verb ? `unknown verb ${verb}` : "a verb is needed: list, show, replay or discard");
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`dlq: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
