// The public keys a verifier trusts, from a JWKS it reads (a file) or fetches (an identity
// provider's URL), cached. A token whose key id the cache does not know makes it read the JWKS
// again, at most once per cooldown; the cache is also renewed in the background when it is older
// than `refreshMs`. When the JWKS cannot be read, tokens signed by cached keys keep verifying and
// only a token naming an unknown key fails: with `KeysUnavailable`, which callers answer as 503.
import fs from "node:fs/promises";
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";

export class KeysUnavailable extends Error {
  override name = "KeysUnavailable";
}

export interface KeySetOptions {
  /** At most one reload for unknown key ids per this period. */
  cooldownMs?: number;
  /** Renew the cache in the background after this long. */
  refreshMs?: number;
  /**
   * An unknown key id inside the cooldown waits for its end and reads again, rather than failing
   * (for a JWKS file that a rotation just changed: no call fails while the verifier catches up).
   */
  waitOutCooldown?: boolean;
  /** Called after each read of the JWKS (e.g. to forget what was verified with the keys before). */
  onLoad?: () => void;
  /** The clock the periods are measured on (ms since the epoch). */
  now?: () => number;
}

/** Where a JWKS comes from: an http(s) URL is fetched, anything else is a file path. */
export function jwksLoader(source: string, timeoutMs = 5000): () => Promise<JSONWebKeySet> {
  const remote = /^https?:\/\//.test(source);
  return async () => {
    const text = remote
      ? await fetch(source, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } }).then(
          (response) => {
            if (!response.ok) throw new Error(`${source} answered ${response.status}`);
            return response.text();
          },
        )
      : await fs.readFile(source, "utf8");
    const jwks = JSON.parse(text) as JSONWebKeySet;
    if (!Array.isArray(jwks.keys)) throw new Error(`${source} is not a JWKS (no "keys" list)`);
    return jwks;
  };
}

export interface KeySet {
  getKey: JWTVerifyGetKey;
  /** Reads the JWKS now (at start, so a wrong source shows at once); false if it could not. */
  load(): Promise<boolean>;
  /**
   * Starts the background renewal if the cache is older than `refreshMs` (getKey does it too): for
   * a caller that answers from what it verified before without asking for a key.
   */
  refreshIfDue(): void;
}

export function keySet(
  loadJwks: () => Promise<JSONWebKeySet>,
  { cooldownMs = 30_000, refreshMs = 300_000, waitOutCooldown = false, onLoad, now = Date.now }: KeySetOptions = {},
): KeySet {
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let loadedAt = 0;
  let lastAttempt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<boolean> | undefined;

  const load = () => {
    inFlight ??= (async () => {
      lastAttempt = now();
      try {
        local = createLocalJWKSet(await loadJwks());
        loadedAt = now();
        onLoad?.();
        return true;
      } catch {
        return false;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const refreshIfDue = () => {
    if (local && now() - loadedAt > refreshMs && now() - lastAttempt >= cooldownMs) void load();
  };

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!local) {
      // A read under way (another call's) is waited for, not taken for a failure.
      if (inFlight) await inFlight;
      else if (now() - lastAttempt >= cooldownMs) await load();
      if (!local) throw new KeysUnavailable("the signing keys could not be read");
    } else {
      refreshIfDue();
    }
    try {
      return await local(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (inFlight) {
        await inFlight;
        return local(header, token);
      }
      const wait = cooldownMs - (now() - lastAttempt);
      if (wait > 0 && !waitOutCooldown) throw error;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!(await load())) throw new KeysUnavailable("the signing keys could not be read again for an unknown key id");
      return local(header, token);
    }
  };
  return { getKey, load, refreshIfDue };
}
