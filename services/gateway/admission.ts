// Who may call what, at the gateway: the rate limits (rate-limit.ts), then the caller's bearer token
// is verified (user-tokens.ts) for every function that is not public, checked against the roles the
// function's declaration names (401 without a valid token, 403 without a role), and passed on to the
// tier with the request's correlation id and the gateway's internal credential, the one thing the
// tiers trust.
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { Context } from "hono";
import type { Config } from "#shared/platform/config.ts";
import { invalidInput } from "#shared/platform/errors.ts";
import { ensureKeyPair, localIssuerFiles } from "#shared/platform/local-keys.ts";
import type { Log } from "#shared/platform/log.ts";
import { type Access, setCallContext } from "#shared/transport/caller.ts";
import {
  type InternalCredential,
  internalCredential,
  internalKeyFiles,
} from "#shared/transport/internal-credential.ts";
import { AuthenticationError } from "#shared/transport/problem.ts";
import { forbidden, type TokenVerifier, tokenVerifier } from "#shared/transport/user-tokens.ts";
import { budgetOf, connectRateLimiter, type RateLimiter } from "./rate-limit.ts";

const CORRELATION_ID = /^[\x21-\x7e]{1,128}$/;

/** The request's correlation id: the caller's X-Correlation-Id, else a new one for a command. */
function correlationIdOf(c: Context): string | undefined {
  const given = c.req.header("x-correlation-id");
  if (given === undefined) return c.req.method === "GET" || c.req.method === "HEAD" ? undefined : randomUUID();
  if (!CORRELATION_ID.test(given)) {
    throw invalidInput("X-Correlation-Id must be 1 to 128 visible ASCII characters", [
      { path: "X-Correlation-Id", message: "1 to 128 visible ASCII characters" },
    ]);
  }
  return given;
}

/**
 * The gateway's check of every call: the rate limit (by the verified subject where a token is
 * needed, else by address; a request whose token fails draws on its address's budget, so guessing
 * tokens is limited too), then the token and the roles the declaration's `access` names.
 */
export function admission(tokens: TokenVerifier, credential: InternalCredential, limits: RateLimiter) {
  return async (c: Context, access: Access): Promise<grpc.Metadata> => {
    const correlationId = correlationIdOf(c);
    const budget = budgetOf(c.req.method);
    const byAddress = () => limits.consume(c, budget, `address:${limits.addressOf(c)}`);
    if (access === "public") {
      await byAddress();
      return credential.attach(setCallContext(new grpc.Metadata(), { actor: undefined, correlationId }));
    }
    const actor = await tokens.actorOf(c.req.header("authorization")).catch(async (error: unknown) => {
      if (error instanceof AuthenticationError) await byAddress();
      throw error;
    });
    if (!actor) {
      await byAddress();
      throw new AuthenticationError("this needs a bearer token (Authorization: Bearer <token>)");
    }
    await limits.consume(c, budget, `subject:${actor.subject}`);
    if (!access.owner && !actor.roles.some((role) => access.roles.includes(role))) throw forbidden(access.roles);
    return credential.attach(setCallContext(new grpc.Metadata(), { actor, correlationId }));
  };
}

export interface GatewayAuth {
  tokens: TokenVerifier;
  credential: InternalCredential;
  limits: RateLimiter;
  stop(): Promise<void>;
}

/** The token verifier, internal credential and rate limits a gateway runs with, from its configuration. */
export async function gatewayAuth(config: Config, log: Log): Promise<GatewayAuth> {
  const { auth } = config;
  const jwks = auth.jwksUrl || ensureKeyPair(localIssuerFiles(auth.keysDir)).jwksFile;
  const tokens = tokenVerifier({ ...auth, jwks });
  const credential = await internalCredential(internalKeyFiles(auth, true).privateFile);
  const limits = await connectRateLimiter(
    { redisUrl: config.redis.url, keyPrefix: config.redis.keyPrefix, ...config.gateway.rateLimit },
    log,
  );
  return {
    tokens,
    credential,
    limits,
    async stop() {
      credential.stop();
      await limits.close();
    },
  };
}
