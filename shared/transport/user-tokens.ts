// The gateway's authentication: `Authorization: Bearer <JWT>` verified against the identity
// provider's JWKS (AUTH_JWKS_URL; without one, the local issuer's JWKS file the project provisions):
// signature, an algorithm allow-list, issuer, audience, expiry and not-before with a clock skew.
// The caller is the token's `sub` with the roles found at AUTH_ROLES_CLAIM (a dotted path, since
// providers put them in different places, e.g. Keycloak's realm_access.roles).
//
// A missing or invalid token is a 401 whose WWW-Authenticate says why (RFC 6750); a token the keys
// cannot be had for (the JWKS unreachable and the key id unknown) is a 503. Tokens are never logged.
//
// A token that verified is remembered with the caller it names until it expires (the last
// REMEMBERED of them), so a client's next requests cost a map lookup, not a signature check (an
// EdDSA or ECDSA verification was 12% of the gateway's CPU per create). Each read of the JWKS
// forgets them all, and a remembered token still starts the JWKS's renewal when it is due, so a
// key the provider drops stops verifying as soon as it would without the memory.
import { errors, jwtVerify } from "jose";
import { DomainError } from "../platform/errors.ts";
import type { Actor } from "./caller.ts";
import { jwksLoader, KeysUnavailable, keySet } from "./key-set.ts";
import { AuthenticationError } from "./problem.ts";

/** A 403 for a caller without the roles a function needs. */
export function forbidden(roles: readonly string[]): DomainError {
  return new DomainError("forbidden", `this needs one of the roles: ${roles.join(", ")}`);
}

export interface TokenSettings {
  /** An http(s) JWKS URL, or the path of a JWKS file. */
  jwks: string;
  issuer: string;
  audience: string;
  rolesClaim: string;
  algorithms: readonly string[];
  clockSkewSeconds: number;
}

/** What jose's errors mean, in the words a client gets (never the token itself). */
function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "the token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not accepted`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (error instanceof errors.JOSEAlgNotAllowed) return "the token's algorithm is not accepted";
  if (error instanceof errors.JWKSNoMatchingKey) return "no key is known for the token";
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "several keys match the token";
  return "the token is not a valid JWT";
}

/** The value at a dotted path of the claims, e.g. realm_access.roles. */
function claimAt(claims: Record<string, unknown>, dotted: string): unknown {
  let value: unknown = claims;
  for (const part of dotted.split(".")) {
    value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value;
}

export interface TokenVerifier {
  /** The caller an Authorization header names; undefined without one. */
  actorOf(authorization: string | undefined): Promise<Actor | undefined>;
  /** Reads the JWKS now; false if it could not (the gateway starts anyway and retries). */
  warm(): Promise<boolean>;
}

/** How many verified tokens a gateway remembers; past it, the oldest is forgotten first. */
const REMEMBERED = 1000;

/** `now` (ms since the epoch) is the clock the expiry is checked on. */
export function tokenVerifier(settings: TokenSettings, now: () => number = Date.now): TokenVerifier {
  /** Verified tokens: the caller each names, and when it expires (ms). */
  const verified = new Map<string, { actor: Actor; expiresAt: number }>();
  /** Raised by each read of the JWKS: a check begun before one is not remembered after it. */
  let keysRead = 0;
  const keys = keySet(jwksLoader(settings.jwks), {
    now,
    onLoad: () => {
      verified.clear();
      keysRead++;
    },
  });
  const skewMs = settings.clockSkewSeconds * 1000;
  return {
    warm: keys.load,
    async actorOf(authorization) {
      if (authorization === undefined) return undefined;
      const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization);
      if (!match?.[1])
        throw new AuthenticationError("the Authorization header must be: Bearer <token>", "invalid_request");
      const token = match[1];
      const known = verified.get(token);
      // Expired as jose has it: no longer before exp + the skew. Then it is verified again, and refused.
      if (known && now() < known.expiresAt + skewMs) {
        keys.refreshIfDue();
        return known.actor;
      }
      const checkedWith = keysRead;
      let claims: Record<string, unknown>;
      try {
        ({ payload: claims } = await jwtVerify(token, keys.getKey, {
          issuer: settings.issuer,
          audience: settings.audience,
          algorithms: [...settings.algorithms],
          clockTolerance: settings.clockSkewSeconds,
          currentDate: new Date(now()),
          requiredClaims: ["sub", "exp"],
        }));
      } catch (error) {
        if (error instanceof KeysUnavailable) {
          throw new DomainError("unavailable", "the identity provider's keys cannot be fetched; try again");
        }
        throw new AuthenticationError(describe(error), "invalid_token");
      }
      const roles = claimAt(claims, settings.rolesClaim);
      const actor: Actor = {
        subject: String(claims.sub),
        roles: Array.isArray(roles) ? roles.filter((role): role is string => typeof role === "string") : [],
      };
      if (checkedWith === keysRead) {
        if (verified.size >= REMEMBERED) verified.delete(verified.keys().next().value as string);
        verified.set(token, { actor, expiresAt: Number(claims.exp) * 1000 });
      }
      return actor;
    },
  };
}
