// Who may call what, at the gateway: the caller's bearer token is verified (user-tokens.ts) for
// every function that is not public, checked against the roles the function's declaration names
// (401 without a valid token, 403 without a role), and passed on to the tier with the request's
// correlation id and the gateway's internal credential, the one thing the tiers trust.
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import type { Context } from "hono";
import type { Config } from "#shared/platform/config.ts";
import { invalidInput } from "#shared/platform/errors.ts";
import { ensureKeyPair, localIssuerFiles } from "#shared/platform/local-keys.ts";
import { type Access, setCallContext } from "#shared/transport/caller.ts";
import {
  type InternalCredential,
  internalCredential,
  internalKeyFiles,
} from "#shared/transport/internal-credential.ts";
import { AuthenticationError } from "#shared/transport/problem.ts";
import { forbidden, type TokenVerifier, tokenVerifier } from "#shared/transport/user-tokens.ts";

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

export function admission(tokens: TokenVerifier, credential: InternalCredential) {
  return async (c: Context, access: Access): Promise<grpc.Metadata> => {
    const correlationId = correlationIdOf(c);
    if (access === "public")
      return credential.attach(setCallContext(new grpc.Metadata(), { actor: undefined, correlationId }));
    const actor = await tokens.actorOf(c.req.header("authorization"));
    if (!actor) throw new AuthenticationError("this needs a bearer token (Authorization: Bearer <token>)");
    if (!access.owner && !actor.roles.some((role) => access.roles.includes(role))) throw forbidden(access.roles);
    return credential.attach(setCallContext(new grpc.Metadata(), { actor, correlationId }));
  };
}

/** The token verifier and internal credential a gateway runs with, from its configuration. */
export async function gatewayAuth(config: Config): Promise<{ tokens: TokenVerifier; credential: InternalCredential }> {
  const { auth } = config;
  const jwks = auth.jwksUrl || ensureKeyPair(localIssuerFiles(auth.keysDir)).jwksFile;
  const tokens = tokenVerifier({ ...auth, jwks });
  return { tokens, credential: await internalCredential(internalKeyFiles(auth, true).privateFile) };
}
