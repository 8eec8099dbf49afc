// The gateway's token checks against an identity provider's JWKS served over HTTP by a server of the
// test's own, which it can stop: keys are cached, an unknown key id makes one fetch per cooldown,
// tokens of cached keys keep verifying while the JWKS is unreachable and others are a 503; roles are
// read at a configurable claim path, as Keycloak issues them.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { eventually } from "#tests/support/wait.ts";
import { DomainError } from "../platform/errors.ts";
import { AuthenticationError } from "./problem.ts";
import { type TokenSettings, tokenVerifier } from "./user-tokens.ts";

interface Signer {
  kid: string;
  publicJwk: JWK;
  sign(claims: Record<string, unknown>, alg?: string): Promise<string>;
}

async function signer(kid: string, alg = "ES256"): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    kid,
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg },
    sign: (claims) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg, kid, typ: "JWT" })
        .setIssuer("https://idp.example/realms/shop")
        .setAudience("cqrs-api")
        .setSubject(String(claims.sub ?? "f3b5c1e2-user"))
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(privateKey),
  };
}

/** The identity provider's JWKS endpoint: which keys it serves, whether it answers, how often asked. */
const idp = { keys: [] as JWK[], up: true, fetches: 0 };
let server: http.Server | undefined;
let url = "";

before(async () => {
  server = http.createServer((_request, response) => {
    idp.fetches++;
    if (!idp.up) {
      response.writeHead(503).end();
      return;
    }
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: idp.keys }));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/realms/shop/protocol/openid-connect/certs`;
});

after(() => server?.close());

const settings = (overrides: Partial<TokenSettings> = {}): TokenSettings => ({
  jwks: url,
  issuer: "https://idp.example/realms/shop",
  audience: "cqrs-api",
  rolesClaim: "realm_access.roles",
  algorithms: ["ES256", "RS256", "EdDSA"],
  clockSkewSeconds: 30,
  ...overrides,
});

/** A token shaped as Keycloak issues them: roles under realm_access, client roles apart, extra claims. */
const keycloakClaims = (roles: string[]) => ({
  sub: "f3b5c1e2-7d4a-4c1e-9b8f-2a6d1e0c9b7a",
  typ: "Bearer",
  azp: "cqrs-web",
  preferred_username: "ada",
  realm_access: { roles: ["default-roles-shop", "offline_access", ...roles] },
  resource_access: { account: { roles: ["manage-account"] } },
  scope: "openid profile email",
});

describe("a token from an identity provider", () => {
  test("a Keycloak-shaped token gives its subject and realm roles", async () => {
    const key = await signer("kc-1");
    idp.keys = [key.publicJwk];
    const verifier = tokenVerifier(settings());
    const actor = await verifier.actorOf(`Bearer ${await key.sign(keycloakClaims(["catalog-admin"]))}`);
    assert.deepEqual(actor, {
      subject: "f3b5c1e2-7d4a-4c1e-9b8f-2a6d1e0c9b7a",
      roles: ["default-roles-shop", "offline_access", "catalog-admin"],
    });
  });

  test("a token exactly as Keycloak 26.7.3 issues it for compose's realm (infra/keycloak) is ada's, with her roles", async () => {
    // Captured from Keycloak 26.7.3 running infra/keycloak/cqrs-ts-realm.json, published as
    // http://localhost:8180 (compose.yaml): a password grant for ada through cqrs-ts-cli. Only the
    // times, ids and the signature are new; its JWKS also serves an encryption key.
    const kid = "psj4bjGB0InxBSk2SHuoANJ-RMiQZHoAIFW4f_fzYgA";
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const encryption = await generateKeyPair("RSA-OAEP", { extractable: true });
    idp.keys = [
      { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" },
      { ...(await exportJWK(encryption.publicKey)), kid: "enc-1", alg: "RSA-OAEP", use: "enc" },
    ];
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      exp: now + 900,
      iat: now,
      jti: "onrtro:f0d53bb9-6d61-1890-d8c0-e7c94a4d51a0",
      iss: "http://localhost:8180/realms/cqrs-ts",
      aud: ["cqrs-ts", "account"],
      sub: "3f0b8f9e-8a53-4c1f-9d44-5f3c2b7a9e01",
      typ: "Bearer",
      azp: "cqrs-ts-cli",
      sid: "tvnNtIGPI7veoyXd_xy3WTTs",
      acr: "1",
      realm_access: {
        roles: ["default-roles-cqrs-ts", "user-admin", "offline_access", "catalog-admin", "uma_authorization"],
      },
      resource_access: { account: { roles: ["manage-account", "manage-account-links", "view-profile"] } },
      scope: "profile email",
      email_verified: true,
      name: "Ada Lovelace",
      preferred_username: "ada",
      given_name: "Ada",
      family_name: "Lovelace",
      email: "ada@example.com",
    })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid })
      .sign(privateKey);
    // The gateway's settings in compose.yaml.
    const verifier = tokenVerifier(
      settings({
        issuer: "http://localhost:8180/realms/cqrs-ts",
        audience: "cqrs-ts",
        rolesClaim: "realm_access.roles",
      }),
    );
    assert.deepEqual(await verifier.actorOf(`Bearer ${token}`), {
      subject: "3f0b8f9e-8a53-4c1f-9d44-5f3c2b7a9e01",
      roles: ["default-roles-cqrs-ts", "user-admin", "offline_access", "catalog-admin", "uma_authorization"],
    });
  });

  test("no Authorization header is no caller; another scheme is invalid_request", async () => {
    const verifier = tokenVerifier(settings());
    assert.equal(await verifier.actorOf(undefined), undefined);
    await assert.rejects(verifier.actorOf("Basic dXNlcjpwYXNz"), (error: unknown) => {
      assert.ok(error instanceof AuthenticationError);
      assert.match(error.challenge, /error="invalid_request"/);
      return true;
    });
  });

  test("an algorithm outside the allow-list is refused, even with a known key", async () => {
    const key = await signer("rs-1", "RS256");
    idp.keys = [key.publicJwk];
    const verifier = tokenVerifier(settings({ algorithms: ["ES256"] }));
    await assert.rejects(verifier.actorOf(`Bearer ${await key.sign({ sub: "x" })}`), (error: unknown) => {
      assert.ok(error instanceof AuthenticationError);
      assert.match(error.challenge, /error="invalid_token", error_description="the token's algorithm/);
      return true;
    });
  });

  test("keys are cached; a new key id makes one fetch per cooldown", async () => {
    const first = await signer("rot-1");
    idp.keys = [first.publicJwk];
    const verifier = tokenVerifier(settings());
    const token = `Bearer ${await first.sign({ sub: "a" })}`;
    idp.fetches = 0;
    for (let i = 0; i < 5; i++) assert.equal((await verifier.actorOf(token))?.subject, "a");
    assert.equal(idp.fetches, 1, "one fetch for five tokens");

    // The provider rotates: the new key id is fetched once; within the cooldown, another unknown id
    // is refused without asking again.
    const second = await signer("rot-2");
    idp.keys = [first.publicJwk, second.publicJwk];
    await assert.rejects(verifier.actorOf(`Bearer ${await second.sign({ sub: "b" })}`), AuthenticationError);
    assert.equal(idp.fetches, 1, "inside the cooldown (30 s) no second fetch");

    const patient = tokenVerifier(settings());
    await patient.warm();
    idp.fetches = 0;
    const third = await signer("rot-3");
    idp.keys = [first.publicJwk, second.publicJwk, third.publicJwk];
    assert.equal((await patient.actorOf(`Bearer ${await second.sign({ sub: "b" })}`))?.subject, "b");
    assert.equal(idp.fetches, 0, "a key the first fetch brought needs none");
  });

  test("while the JWKS is unreachable, cached keys keep verifying and an unknown key id is a 503", async () => {
    const known = await signer("down-1");
    idp.keys = [known.publicJwk];
    idp.up = true;
    const verifier = tokenVerifier(settings());
    assert.equal(await verifier.warm(), true);
    idp.up = false;
    try {
      assert.equal((await verifier.actorOf(`Bearer ${await known.sign({ sub: "still" })}`))?.subject, "still");
      const unknown = await signer("down-2");
      const cold = tokenVerifier(settings());
      await assert.rejects(cold.actorOf(`Bearer ${await unknown.sign({ sub: "x" })}`), (error: unknown) => {
        assert.ok(error instanceof DomainError && !(error instanceof AuthenticationError));
        assert.equal(error.code, "unavailable");
        return true;
      });
    } finally {
      idp.up = true;
    }
  });
});

describe("a token verified before", () => {
  /** A verifier on a clock of the test's own, and a token of `key` that expires in 5 minutes. */
  async function remembering(key: Signer, subject: string) {
    const clock = { now: Date.now() };
    const verifier = tokenVerifier(settings(), () => clock.now);
    // As the gateway does at start: a check during the first read of the JWKS is not remembered.
    assert.equal(await verifier.warm(), true);
    const token = `Bearer ${await key.sign({ sub: subject })}`;
    assert.equal((await verifier.actorOf(token))?.subject, subject);
    return { clock, verifier, token };
  }

  test("is answered from memory: the same caller, not a new check of its signature", async () => {
    const key = await signer("mem-0");
    idp.keys = [key.publicJwk];
    const { verifier, token } = await remembering(key, "z");
    const first = await verifier.actorOf(token);
    assert.equal(await verifier.actorOf(token), first, "the very object the check made");
    assert.deepEqual(first, { subject: "z", roles: [] });
  });

  test("still expires: past exp and the clock skew it is refused as expired", async () => {
    const key = await signer("mem-1");
    idp.keys = [key.publicJwk];
    const { clock, verifier, token } = await remembering(key, "a");
    const expiresAt = Number(decodeJwt(token.slice("Bearer ".length)).exp) * 1000;
    clock.now = expiresAt + 29_000;
    assert.equal((await verifier.actorOf(token))?.subject, "a", "within the 30 s skew after exp");
    clock.now = expiresAt + 30_000;
    await assert.rejects(verifier.actorOf(token), (error: unknown) => {
      assert.ok(error instanceof AuthenticationError);
      assert.match(error.challenge, /the token has expired/);
      return true;
    });
  });

  test("is forgotten by a read of the JWKS: a key the provider dropped no longer verifies it", async () => {
    const dropped = await signer("mem-2");
    idp.keys = [dropped.publicJwk];
    const { verifier, token } = await remembering(dropped, "b");
    idp.keys = [(await signer("mem-3")).publicJwk];
    assert.equal(await verifier.warm(), true);
    await assert.rejects(verifier.actorOf(token), (error: unknown) => {
      assert.ok(error instanceof AuthenticationError);
      assert.match(error.challenge, /no key is known for the token/);
      return true;
    });
  });

  test("still has the JWKS renewed when it is due (every 5 minutes), which then forgets it", async () => {
    const dropped = await signer("mem-4");
    idp.keys = [dropped.publicJwk];
    const { clock, verifier, token } = await remembering(dropped, "c");
    idp.keys = [(await signer("mem-5")).publicJwk];
    idp.fetches = 0;
    clock.now += 301 * 1000;
    // Remembered (exp and the skew are 29 s away): answered at once, and the renewal starts.
    assert.equal((await verifier.actorOf(token))?.subject, "c");
    await eventually("the JWKS to be fetched again", async () => (idp.fetches > 0 ? true : undefined));
    const refused = await eventually("the dropped key to stop verifying", async () =>
      verifier.actorOf(token).then(
        () => undefined,
        (error: unknown) => (error instanceof AuthenticationError ? error : undefined),
      ),
    );
    assert.match(refused.challenge, /no key is known for the token/);
  });
});
