// Signing keys the project provisions for itself, as JWK files: the local token issuer's (what
// `npm run token` signs with and the gateway trusts when no AUTH_JWKS_URL is set) and the gateway's
// internal credential (what the writer and reader accept). Each pair is a private key file, read
// by the one process that signs, and a JWKS file of public keys, read by those that verify.
//
// Every process may call `ensureKeyPair` at start: the files are created once, whole (written aside,
// then linked into place, which fails if another process got there first), and read from then on.
// A rotation (`rotateKeyPair`) writes a new private key and adds its public key to the JWKS, keeping
// the previous ones, so tokens signed before it stay valid until they expire.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** A JSON Web Key, as node:crypto exports it, with the key id and use we add. */
export type Jwk = Record<string, string>;

export interface KeyPairFiles {
  /** The private key (JWK, with `kid` and `alg`): read by the signer only. */
  privateFile: string;
  /** The public keys (`{"keys": [...]}`): read by every verifier. */
  jwksFile: string;
}

/** The files of the key pair `name` under `dir`. */
export function keyPairFiles(dir: string, name: string): KeyPairFiles {
  return { privateFile: path.join(dir, `${name}.private.jwk.json`), jwksFile: path.join(dir, `${name}.jwks.json`) };
}

function newKey(): { privateJwk: Jwk; publicJwk: Jwk } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const kid = randomUUID();
  const tag = { kid, alg: "EdDSA", use: "sig" };
  return {
    privateJwk: { ...(privateKey.export({ format: "jwk" }) as Jwk), ...tag },
    publicJwk: { ...(publicKey.export({ format: "jwk" }) as Jwk), ...tag },
  };
}

/** Writes `text` to `file` whole, unless it exists (then false). Readable by its owner only. */
function createOnce(file: string, text: string): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const aside = `${file}.${process.pid}.${randomUUID()}.tmp`;
  fs.writeFileSync(aside, text, { mode: 0o600 });
  try {
    fs.linkSync(aside, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

/** Replaces `file` whole (written aside, renamed into place). */
function replace(file: string, text: string): void {
  const aside = `${file}.${process.pid}.${randomUUID()}.tmp`;
  fs.writeFileSync(aside, text, { mode: 0o600 });
  fs.renameSync(aside, file);
}

const publicOf = (privateJwk: Jwk): Jwk => {
  const { d: _d, ...rest } = privateJwk;
  return rest;
};

/** Creates the pair if its private key file is missing; returns its files either way. */
export function ensureKeyPair(files: KeyPairFiles): KeyPairFiles {
  // A key is made only when none is there (every service and tool calls this at start).
  if (!fs.existsSync(files.privateFile)) createOnce(files.privateFile, `${JSON.stringify(newKey().privateJwk)}\n`);
  // The JWKS holds at least the current private key's public half (a crash between the two files,
  // or a JWKS removed by hand, is mended here).
  const current = readPrivateJwk(files.privateFile);
  if (!createOnce(files.jwksFile, `${JSON.stringify({ keys: [publicOf(current)] })}\n`)) {
    const jwks = readJwks(files.jwksFile);
    if (!jwks.keys.some((key) => key.kid === current.kid)) {
      replace(files.jwksFile, `${JSON.stringify({ keys: [...jwks.keys, publicOf(current)] })}\n`);
    }
  }
  return files;
}

/**
 * A new private key; its public key is added to the JWKS, which keeps the previous `keep` keys.
 * Verifiers must have read the new JWKS before tokens signed with the new key reach them: they read
 * it again whenever a token names a key id they do not know.
 */
export function rotateKeyPair(files: KeyPairFiles, keep = 1): Jwk {
  ensureKeyPair(files);
  const { privateJwk, publicJwk } = newKey();
  const previous = readJwks(files.jwksFile).keys.slice(-keep);
  replace(files.jwksFile, `${JSON.stringify({ keys: [...previous, publicJwk] })}\n`);
  replace(files.privateFile, `${JSON.stringify(privateJwk)}\n`);
  return publicJwk;
}

export function readPrivateJwk(file: string): Jwk {
  const jwk = JSON.parse(fs.readFileSync(file, "utf8")) as Jwk;
  if (!jwk.d || !jwk.kid) throw new Error(`${file} is not a private JWK with a kid`);
  return jwk;
}

export function readJwks(file: string): { keys: Jwk[] } {
  const jwks = JSON.parse(fs.readFileSync(file, "utf8")) as { keys?: Jwk[] };
  if (!Array.isArray(jwks.keys)) throw new Error(`${file} is not a JWKS (no "keys" list)`);
  return { keys: jwks.keys };
}

/** The local token issuer's key pair (`npm run token` signs with it; the gateway trusts it by default). */
export const localIssuerFiles = (keysDir: string): KeyPairFiles => keyPairFiles(keysDir, "issuer");

/**
 * The internal credential's files, created if the JWKS is missing (the local stack, and compose's
 * shared key volume); a tier given only a JWKS (the private key elsewhere) never writes anything.
 */
export function ensureInternalKeys(files: KeyPairFiles, signer: boolean): KeyPairFiles {
  if (signer || !fs.existsSync(files.jwksFile)) ensureKeyPair(files);
  return files;
}
