// `npm run keys -- list | rotate <internal|issuer>`: the project's own signing keys (AUTH_KEYS_DIR;
// the internal credential's at INTERNAL_SIGNING_KEY_FILE and INTERNAL_JWKS_FILE). `rotate` makes a
// new private key and adds its public key to the JWKS, keeping the previous one, so that tokens
// signed before stay valid until they expire: the gateway signs with the new internal key within a
// minute (it reads the file each time it signs), and a tier reads its JWKS again on a key id it does
// not know. Rotating `issuer` makes `npm run token` sign with a new key; the gateway fetches it the
// same way.
import { loadConfig } from "#shared/platform/config.ts";
import {
  ensureKeyPair,
  type KeyPairFiles,
  localIssuerFiles,
  readJwks,
  readPrivateJwk,
  rotateKeyPair,
} from "#shared/platform/local-keys.ts";
import { parseCommandLine, runMain } from "./command-line.ts";

const USAGE = `usage: npm run keys -- list                       the key files, the signing key id and the public key ids
       npm run keys -- rotate <internal|issuer>    a new signing key; the previous public key stays trusted
  internal  the gateway's credential for the writer and reader
  issuer    the local token issuer's (npm run token)`;

async function main(): Promise<number> {
  const { positionals } = parseCommandLine("keys", USAGE, { allowPositionals: true });
  const config = loadConfig();
  const pairs: Record<string, KeyPairFiles> = {
    internal: { privateFile: config.auth.internalSigningKeyFile, jwksFile: config.auth.internalJwksFile },
    issuer: localIssuerFiles(config.auth.keysDir),
  };
  const [verb, which] = positionals;
  if (verb === "list" && which === undefined) {
    for (const [name, files] of Object.entries(pairs)) {
      ensureKeyPair(files);
      const kids = readJwks(files.jwksFile).keys.map((key) => key.kid);
      console.log(`${name}: signs with ${readPrivateJwk(files.privateFile).kid}; trusted ${kids.join(", ")}`);
      console.log(`  private ${files.privateFile}\n  public  ${files.jwksFile}`);
    }
    return 0;
  }
  const pair = which === undefined ? undefined : pairs[which];
  if (verb === "rotate" && pair && positionals.length === 2) {
    const fresh = rotateKeyPair(pair);
    console.log(
      `${which}: now signs with ${fresh.kid}; trusted ${readJwks(pair.jwksFile)
        .keys.map((key) => key.kid)
        .join(", ")}`,
    );
    return 0;
  }
  console.error("keys: give list, or rotate internal|issuer (--help shows the usage)");
  return 2;
}

runMain("keys", main);
