// The fault suite's load: several clients, each owning the products and users it created and the
// only one to command them, so the state each aggregate must end in is known exactly (the ledger).
// A client sends creates (with an Idempotency-Key), updates with and without If-Match, deletes,
// and reads one of its aggregates after every command. A command whose answer a fault cut off is
// resolved as a client would: sent again until the answer is definitive (a create with the same
// key; an update with If-Match that now answers 412, or a delete that now answers 404, had been
// applied: nobody else changes this client's aggregates). Reads check that no client ever sees an
// aggregate go back in time.
import { randomUUID } from "node:crypto";
import { adminHeaders } from "../support/auth.ts";

export type Kind = "product" | "user";

export interface Expected {
  kind: Kind;
  id: string;
  version: number;
  deleted: boolean;
  /** Every field, as the client last set it. */
  fields: Record<string, unknown>;
  /** The window its last command was acknowledged in. */
  window: string;
  /** An update without If-Match whose answer a fault cut off: resolved by reading the version. */
  uncertain?: { before: number; patch: Record<string, unknown> };
}

/** What happened in one window of the run (a fault, from its start until the system converged). */
export interface WindowStats {
  name: string;
  sent: number;
  acknowledged: number;
  statuses: Map<string, number>;
}

export interface Recorder {
  window: WindowStats;
  /** Everything that must never happen: a 500, an aggregate read going back, an unexpected answer. */
  violations: string[];
}

export function newWindow(name: string): WindowStats {
  return { name, sent: 0, acknowledged: 0, statuses: new Map() };
}

const DEFINITIVE = new Set([200, 201, 204, 400, 404, 409, 412, 422]);

interface Answer {
  status: number | "error";
  body: Record<string, unknown> | undefined;
}

export interface Clients {
  ledger: Map<string, Expected>;
  /** Lets every client finish its command (and its retries) and wait; resolves once all wait. */
  pause(): Promise<void>;
  resume(): void;
  /** Ends every client after its current command. */
  stop(): Promise<void>;
  /** Ids a client has read with 200 (so likely in the cache), for the checks during a read-side fault. */
  readIds(): { kind: Kind; id: string }[];
  /**
   * Resolves the updates whose answer a fault cut off by reading each aggregate through the
   * gateway: call it with the clients paused and the system converged. Returns what it could not.
   */
  resolveUncertain(): Promise<string[]>;
}

export function startClients(opts: { gatewayUrl: string; count: number; runId: string; recorder: Recorder }): Clients {
  const { recorder } = opts;
  const ledger = new Map<string, Expected>();
  let stopping = false;
  let paused = false;
  let resumed: () => void = () => {};
  let resumeSignal = new Promise<void>((resolve) => {
    resumed = resolve;
  });
  const idle = new Set<number>();
  let sequence = 0;

  const count = (status: number | "error") => {
    const key = String(status);
    recorder.window.statuses.set(key, (recorder.window.statuses.get(key) ?? 0) + 1);
    if (status === 500) recorder.violations.push(`a 500 answer during ${recorder.window.name}`);
  };

  async function request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    try {
      const response = await fetch(`${opts.gatewayUrl}${path}`, {
        method,
        headers: {
          ...(await adminHeaders()),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      count(response.status);
      // A 503 says when to come back, and only while a fault holds or the system converges after it.
      if (response.status === 503 && !response.headers.get("retry-after")) {
        recorder.violations.push(`a 503 without Retry-After during ${recorder.window.name}: ${method} ${path}`);
      }
      if (response.status === 503 && recorder.window.name === "warm-up") {
        recorder.violations.push(`a 503 with no fault applied: ${method} ${path} ${text.slice(0, 200)}`);
      }
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, body: parsed };
    } catch {
      count("error");
      return { status: "error", body: undefined };
    }
  }

  /**
   * Sends until the answer is definitive; `attempts` says how many it took. With an Idempotency-Key
   * a 409 says the first attempt is still in flight: not an answer yet.
   */
  async function definitive(send: () => Promise<Answer>, keyed = false): Promise<Answer & { attempts: number }> {
    for (let attempt = 1; ; attempt++) {
      const answer = await send();
      const inFlight = keyed && answer.status === 409;
      if (typeof answer.status === "number" && DEFINITIVE.has(answer.status) && !inFlight)
        return { ...answer, attempts: attempt };
      // A client's backoff, not a wait for a condition: the command is simply sent again.
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** Math.min(attempt, 4), 1500)));
    }
  }

  const path = (kind: Kind, id?: string) => `/api/v1/${kind}s${id ? `/${id}` : ""}`;

  function unexpected(what: string, answer: Answer) {
    recorder.violations.push(`${what}: unexpected ${answer.status} ${JSON.stringify(answer.body ?? {})}`);
  }

  async function create(kind: Kind): Promise<Expected | undefined> {
    const n = ++sequence;
    const fields: Record<string, unknown> =
      kind === "product"
        ? {
            sku: `f-${opts.runId}-${n}`,
            name: `Fault product ${n}`,
            description: `made by the fault suite, ${n}`,
            priceCents: 100 + n,
            currency: "EUR",
            stock: n % 50,
            tags: [`t${n % 3}`],
          }
        : { email: `f-${opts.runId}-${n}@example.com`, name: `Fault user ${n}` };
    const key = randomUUID();
    recorder.window.sent++;
    const answer = await definitive(() => request("POST", path(kind), fields, { "Idempotency-Key": key }), true);
    if (answer.status !== 201 || typeof answer.body?.id !== "string") {
      unexpected(`create ${kind}`, answer);
      return undefined;
    }
    recorder.window.acknowledged++;
    const entry: Expected = {
      kind,
      id: answer.body.id,
      version: 1,
      deleted: false,
      fields,
      window: recorder.window.name,
    };
    ledger.set(entry.id, entry);
    return entry;
  }

  async function update(entry: Expected, conditional: boolean): Promise<void> {
    const n = ++sequence;
    const patch: Record<string, unknown> =
      entry.kind === "product" ? { name: `Renamed ${n}`, priceCents: 1000 + n } : { name: `Renamed ${n}` };
    const headers: Record<string, string> = conditional ? { "If-Match": `"${entry.version}"` } : {};
    recorder.window.sent++;
    const send = () => request("PATCH", path(entry.kind, entry.id), patch, headers);
    let answer: Answer & { attempts: number };
    if (conditional) answer = await definitive(send);
    else {
      // Sent again, an update without If-Match could apply twice, the first one landing late: a
      // client reads the version instead, once the system answers again (resolveUncertain).
      const once = await send();
      if (typeof once.status !== "number" || !DEFINITIVE.has(once.status)) {
        entry.uncertain = { before: entry.version, patch };
        return;
      }
      answer = { ...once, attempts: 1 };
    }
    let version: number;
    if (answer.status === 200 && typeof answer.body?.version === "number") version = answer.body.version;
    else if (answer.status === 412 && conditional && answer.attempts > 1) version = entry.version + 1;
    else return unexpected(`update ${entry.kind} ${entry.id} at ${entry.version}`, answer);
    recorder.window.acknowledged++;
    entry.version = version;
    entry.fields = { ...entry.fields, ...patch };
    entry.window = recorder.window.name;
  }

  async function remove(entry: Expected, conditional: boolean): Promise<void> {
    const headers: Record<string, string> = conditional ? { "If-Match": `"${entry.version}"` } : {};
    recorder.window.sent++;
    const answer = await definitive(() => request("DELETE", path(entry.kind, entry.id), undefined, headers));
    const appliedBefore = answer.attempts > 1 && (answer.status === 404 || answer.status === 412);
    if (answer.status !== 204 && !appliedBefore) return unexpected(`delete ${entry.kind} ${entry.id}`, answer);
    recorder.window.acknowledged++;
    entry.version += 1;
    entry.deleted = true;
    entry.window = recorder.window.name;
  }

  /** The newest each client has read of each id: a version, or "gone" once it read the deletion. */
  const seen = new Map<string, number | "gone">();
  const readable: { kind: Kind; id: string }[] = [];

  async function read(client: number, entry: Expected): Promise<void> {
    const answer = await request("GET", path(entry.kind, entry.id));
    const key = `${client}:${entry.id}`;
    const before = seen.get(key);
    if (answer.status === 200 && typeof answer.body?.version === "number") {
      const version = answer.body.version;
      if (before === "gone" || (typeof before === "number" && version < before)) {
        recorder.violations.push(
          `client ${client} read ${entry.kind} ${entry.id} at version ${version} after ${before === "gone" ? "its deletion" : `version ${before}`}`,
        );
      }
      if (before === undefined || (typeof before === "number" && version > before)) seen.set(key, version);
      if (before === undefined) readable.push({ kind: entry.kind, id: entry.id });
    } else if (answer.status === 404) {
      if (typeof before === "number" && !entry.deleted) {
        recorder.violations.push(`client ${client} read ${entry.kind} ${entry.id} as missing after version ${before}`);
      }
      if (entry.deleted && typeof before === "number") seen.set(key, "gone");
    }
  }

  async function run(client: number): Promise<void> {
    const mine: Expected[] = [];
    let turn = 0;
    while (!stopping) {
      if (paused) {
        idle.add(client);
        await resumeSignal;
        idle.delete(client);
        continue;
      }
      turn++;
      const live = mine.filter((entry) => !entry.deleted && !entry.uncertain);
      const kind: Kind = turn % 2 === 0 ? "product" : "user";
      const roll = Math.random();
      if (live.length < 3 || roll < 0.25) {
        const entry = await create(kind);
        if (entry) mine.push(entry);
      } else {
        const entry = live[Math.floor(Math.random() * live.length)] as Expected;
        if (roll < 0.55) await update(entry, true);
        else if (roll < 0.8) await update(entry, false);
        else await remove(entry, roll < 0.9);
      }
      const target = mine[Math.floor(Math.random() * mine.length)];
      if (target) await read(client, target);
    }
    idle.add(client);
  }

  const runs = Array.from({ length: opts.count }, (_, client) => run(client));

  const allIdle = async () => {
    while (idle.size < opts.count) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  return {
    ledger,
    async pause() {
      paused = true;
      await allIdle();
    },
    resume() {
      paused = false;
      resumed();
      resumeSignal = new Promise<void>((resolve) => {
        resumed = resolve;
      });
    },
    async stop() {
      stopping = true;
      paused = false;
      resumed();
      await Promise.all(runs);
    },
    readIds: () => [...readable],
    async resolveUncertain() {
      const problems: string[] = [];
      for (const entry of ledger.values()) {
        if (!entry.uncertain) continue;
        const { before, patch } = entry.uncertain;
        const answer = await request("GET", path(entry.kind, entry.id));
        const version = answer.body?.version;
        if (answer.status !== 200 || typeof version !== "number") {
          problems.push(`${entry.kind} ${entry.id}: could not read its version (${answer.status})`);
          continue;
        }
        if (version > before) {
          // Applied (perhaps twice): the aggregate holds the patch at a newer version.
          recorder.window.acknowledged++;
          entry.version = version;
          entry.fields = { ...entry.fields, ...patch };
          entry.window = recorder.window.name;
        }
        entry.uncertain = undefined;
      }
      return problems;
    },
  };
}
