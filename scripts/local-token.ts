// Tokens from the local issuer: what `npm run token` prints, and what the tests, the bench and the
// fault suite call the gateway with. Signed with the key the project provisions under AUTH_KEYS_DIR
// and shaped as the gateway expects them (issuer, audience, roles at AUTH_ROLES_CLAIM).
import { importJWK, SignJWT } from "jose";
import type { Config } from "#shared/platform/config.ts";
import { ensureKeyPair, localIssuerFiles, readPrivateJwk } from "#shared/platform/local-keys.ts";

export interface TokenRequest {
  subject: string;
  roles?: readonly string[];
  /** Lifetime in seconds (default one hour). */
  ttlSeconds?: number;
}

/** The roles claim as a nested object when AUTH_ROLES_CLAIM is a dotted path. */
function rolesClaim(path: string, roles: readonly string[]): Record<string, unknown> {
  return path
    .split(".")
    .reverse()
    .reduce<unknown>((inner, key) => ({ [key]: inner }), [...roles]) as Record<string, unknown>;
}

export async function mintToken(config: Config, request: TokenRequest): Promise<string> {
  const jwk = readPrivateJwk(ensureKeyPair(localIssuerFiles(config.auth.keysDir)).privateFile);
  return new SignJWT(rolesClaim(config.auth.rolesClaim, request.roles ?? []))
    .setProtectedHeader({ alg: "EdDSA", kid: jwk.kid, typ: "JWT" })
    .setIssuer(config.auth.issuer)
    .setAudience(config.auth.audience)
    .setSubject(request.subject)
    .setIssuedAt()
    .setNotBefore("0s")
    .setExpirationTime(`${request.ttlSeconds ?? 3600}s`)
    .sign(await importJWK(jwk, "EdDSA"));
}

/** An Authorization header for `request`. */
export const bearer = async (config: Config, request: TokenRequest): Promise<Record<string, string>> => ({
  authorization: `Bearer ${await mintToken(config, request)}`,
});
