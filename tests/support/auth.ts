// Who the tests call as. The test systems trust the local issuer (the key under AUTH_KEYS_DIR, as
// `npm run token` uses it), so a test mints the tokens it needs; `adminHeaders` is the caller of the
// tests that are about something else than who may call what.
import { CATALOG_ADMIN } from "#functions/products/product-api.ts";
import { USER_ADMIN } from "#functions/users/user-api.ts";
import { bearer, type TokenRequest } from "#scripts/local-token.ts";
import { admission, gatewayAuth } from "#services/gateway/admission.ts";
import { loadConfig } from "#shared/platform/config.ts";
import type { GatewayCalls } from "#shared/transport/function.ts";
import { UNREACHED_BUDGETS } from "./system.ts";

export const ADMIN: TokenRequest = { subject: "test-admin", roles: [CATALOG_ADMIN, USER_ADMIN] };

let admin: Promise<Record<string, string>> | undefined;

/** An Authorization header of a caller with every role (minted once per test process). */
export const adminHeaders = (): Promise<Record<string, string>> => {
  admin ??= bearer(loadConfig(), ADMIN);
  return admin;
};

/** An Authorization header for `request`. */
export const headersFor = (request: TokenRequest) => bearer(loadConfig(), request);

/** What a gateway built in a test gives its routes: real token checks and the internal credential. */
export async function testGatewayCalls(
  deadlineMs: number,
  env: Record<string, string> = {},
): Promise<GatewayCalls & { stop(): Promise<void> }> {
  const auth = await gatewayAuth(loadConfig({ ...process.env, ...UNREACHED_BUDGETS, ...env }), () => {});
  return { deadlineMs, admit: admission(auth.tokens, auth.credential, auth.limits), stop: auth.stop };
}
