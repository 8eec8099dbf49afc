// `npm run token -- --sub user-1 --roles catalog-admin [--ttl 1h]`: prints a token from the local
// issuer (the key under AUTH_KEYS_DIR, created if missing), which the local gateway trusts when no
// AUTH_JWKS_URL is set. For curl: -H "Authorization: Bearer $(npm run -s token -- --sub me)".
import { ConfigError, loadConfig } from "#shared/platform/config.ts";
import { parseCommandLine, runMain } from "./command-line.ts";
import { mintToken } from "./local-token.ts";

const USAGE = `usage: npm run token -- --sub <subject> [--roles r1,r2] [--ttl 1h]
  prints a bearer token from the local issuer (what the local gateway trusts without AUTH_JWKS_URL)
  --sub     who the token names (a user's subject; a user created with this token is theirs)
  --roles   comma-separated, e.g. catalog-admin,user-admin (default none)
  --ttl     how long it is valid: 90s, 30m, 12h, 7d (default 1h)`;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds of a duration such as 90s, 30m, 12h or 7d. */
export function parseTtl(text: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(text);
  const seconds = match ? Number(match[1]) * (UNITS[match[2] as string] ?? 0) : 0;
  if (seconds <= 0) throw new ConfigError(`--ttl ${text}: give a positive duration such as 90s, 30m, 12h or 7d`);
  return seconds;
}

async function main(): Promise<number> {
  const { values } = parseCommandLine("token", USAGE, {
    options: {
      sub: { type: "string" },
      roles: { type: "string", default: "" },
      ttl: { type: "string", default: "1h" },
    },
  });
  if (!values.sub || !/^[\x21-\x7e]{1,255}$/.test(values.sub)) {
    console.error("token: --sub is required: 1 to 255 visible ASCII characters (--help shows the usage)");
    return 2;
  }
  const roles = values.roles
    .split(",")
    .map((role) => role.trim())
    .filter((role) => role !== "");
  console.log(await mintToken(loadConfig(), { subject: values.sub, roles, ttlSeconds: parseTtl(values.ttl) }));
  return 0;
}

runMain("token", main);
