// The project's own key files, and the internal credential across a rotation: created once whole
// whoever asks first, the previous public key kept on rotation, and a tier that accepts the new
// key's tokens from the first call after the rotation as well as the old key's until they expire.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { internalCredential, internalVerifier, Unauthenticated } from "../transport/internal-credential.ts";
import { ensureKeyPair, keyPairFiles, readJwks, readPrivateJwk, rotateKeyPair } from "./local-keys.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cqrs-keys-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test("a pair is created once: later calls, and racing ones, read the same key", async () => {
  const files = keyPairFiles(path.join(dir, "once"), "pair");
  const kids = await Promise.all(
    Array.from({ length: 8 }, async () => readPrivateJwk(ensureKeyPair(files).privateFile).kid),
  );
  assert.equal(new Set(kids).size, 1);
  assert.deepEqual(
    readJwks(files.jwksFile).keys.map((key) => key.kid),
    [kids[0]],
  );
  assert.equal(fs.statSync(files.privateFile).mode & 0o077, 0, "the private key is its owner's only");
  assert.deepEqual(fs.readdirSync(path.dirname(files.privateFile)).sort(), ["pair.jwks.json", "pair.private.jwk.json"]);
  assert.equal(readJwks(files.jwksFile).keys[0]?.d, undefined, "no private part in the JWKS");
});

test("calls that reach a fresh verifier together all wait for its one read of the JWKS", async () => {
  const files = ensureKeyPair(keyPairFiles(path.join(dir, "together"), "internal"));
  const credential = await internalCredential(files.privateFile);
  try {
    const verify = internalVerifier(files.jwksFile);
    const calls = Array.from({ length: 8 }, () => verify(credential.attach(new grpc.Metadata())));
    const outcomes = await Promise.allSettled(calls);
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      Array(8).fill("fulfilled"),
      String(outcomes.find((outcome) => outcome.status === "rejected")?.reason),
    );
  } finally {
    credential.stop();
  }
});

test("a rotation signs with a new key and keeps trusting the previous one", async () => {
  const files = ensureKeyPair(keyPairFiles(path.join(dir, "rotation"), "internal"));
  const verify = internalVerifier(files.jwksFile);
  const before = await internalCredential(files.privateFile);
  const oldCall = before.attach(new grpc.Metadata());
  await verify(oldCall);

  const fresh = rotateKeyPair(files);
  const after = await internalCredential(files.privateFile);
  try {
    const newCall = after.attach(new grpc.Metadata());
    const [value] = newCall.get("authorization");
    const header = JSON.parse(Buffer.from(String(value).split(" ")[1]?.split(".")[0] ?? "", "base64url").toString());
    assert.equal(header.kid, fresh.kid, "the new credential uses the new key");
    // The verifier read the JWKS just now (the old call): it waits out its one-second cooldown, reads
    // it again and accepts, instead of refusing the first calls after a rotation.
    await verify(newCall);
    await verify(oldCall);
    assert.deepEqual(readJwks(files.jwksFile).keys.length, 2);

    // Two rotations later the first key is gone: a verifier that reads the JWKS refuses its tokens
    // (a running one does from its next read, within a minute).
    rotateKeyPair(files);
    await assert.rejects(internalVerifier(files.jwksFile)(before.attach(new grpc.Metadata())), Unauthenticated);
  } finally {
    before.stop();
    after.stop();
  }
});
