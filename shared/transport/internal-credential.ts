// The tiers trust only the gateway: every call to a writer or reader carries a short-lived token the
// gateway signs with its internal key (Ed25519), and a tier serves a call only if that token verifies
// against the internal JWKS it was given. Reaching a tier's port is not enough.
//
// The gateway signs a new token every minute, each valid five, reading its private key file each
// time, so a rotation (`npm run keys -- rotate internal`) takes effect within a minute without a
// restart; a tier reads its JWKS file again (at most once a second, the call waiting for it) when a
// token names a key id it does not know. A tier caches the tokens it has verified until they
// expire, so a call pays one map lookup, not a signature check.
import type * as grpc from "@grpc/grpc-js";
import { importJWK, jwtVerify, SignJWT } from "jose";
import { ensureInternalKeys, readPrivateJwk } from "../platform/local-keys.ts";
import { jwksLoader, KeysUnavailable, keySet } from "./key-set.ts";

const ISSUER = "cqrs-ts-gateway";
const AUDIENCE = "cqrs-ts-tiers";
const CREDENTIAL = "authorization";
const LIFETIME_SECONDS = 300;
const RESIGN_MS = 60_000;

export interface InternalCredential {
  /** Adds the current token to a call's metadata. */
  attach(metadata: grpc.Metadata): grpc.Metadata;
  stop(): void;
}

async function sign(privateFile: string, subject: string): Promise<string> {
  const jwk = readPrivateJwk(privateFile);
  const key = await importJWK(jwk, "EdDSA");
  return new SignJWT({})
    .setProtectedHeader({ alg: "EdDSA", kid: jwk.kid, typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`)
    .sign(key);
}

/**
 * The signer's side (the gateway, and tools that call a tier directly): a token for `subject`
 * (which caller it is, for the tier's logs), renewed every minute.
 */
export async function internalCredential(privateFile: string, subject = "gateway"): Promise<InternalCredential> {
  let token = await sign(privateFile, subject);
  const renew = setInterval(() => {
    sign(privateFile, subject).then(
      (next) => {
        token = next;
      },
      // The current token stays valid for four more minutes; the next tick tries again.
      () => {},
    );
  }, RESIGN_MS);
  renew.unref();
  return {
    attach(metadata) {
      metadata.set(CREDENTIAL, `Bearer ${token}`);
      return metadata;
    },
    stop: () => clearInterval(renew),
  };
}

export class Unauthenticated extends Error {
  override name = "Unauthenticated";
}

/** The tier's side: resolves if a call's metadata carries a valid internal token, else rejects. */
export function internalVerifier(jwksFile: string): (metadata: grpc.Metadata) => Promise<void> {
  /** Verified tokens and when they expire (ms); bounded, the oldest dropped first. */
  const verified = new Map<string, number>();
  // Each read of the JWKS (every minute, and on a new key id) forgets them: a key removed from it
  // stops verifying within a minute, cached tokens included.
  const keys = keySet(jwksLoader(jwksFile), {
    cooldownMs: 1000,
    refreshMs: 60_000,
    waitOutCooldown: true,
    onLoad: () => verified.clear(),
  });
  return async (metadata) => {
    const [value] = metadata.get(CREDENTIAL);
    if (typeof value !== "string" || !value.startsWith("Bearer ")) {
      throw new Unauthenticated("no internal credential: only the gateway may call this service");
    }
    const token = value.slice("Bearer ".length);
    const expires = verified.get(token);
    if (expires !== undefined && expires > Date.now()) {
      keys.refreshIfDue();
      return;
    }
    try {
      const { payload } = await jwtVerify(token, keys.getKey, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["EdDSA"],
        clockTolerance: 30,
      });
      if (verified.size >= 16) verified.delete(verified.keys().next().value as string);
      verified.set(token, (payload.exp ?? 0) * 1000);
    } catch (error) {
      if (error instanceof KeysUnavailable) throw error;
      throw new Unauthenticated(`the internal credential is not valid: ${(error as Error).message}`);
    }
  };
}

/** The keys of the internal credential as configured (created for the local stack if missing). */
export function internalKeyFiles(auth: { internalSigningKeyFile: string; internalJwksFile: string }, signer: boolean) {
  return ensureInternalKeys({ privateFile: auth.internalSigningKeyFile, jwksFile: auth.internalJwksFile }, signer);
}

/** A tier's admission of calls: only those with the gateway's internal credential. */
export const tierAdmission = (config: { auth: { internalSigningKeyFile: string; internalJwksFile: string } }) =>
  internalVerifier(internalKeyFiles(config.auth, false).jwksFile);
