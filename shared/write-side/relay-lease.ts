// The relay's lease: of all the writers on one database, exactly one relays the outbox, the one that
// holds a session-level advisory lock on a connection of its own.
//
// The holder writes a heartbeat every quarter of RELAY_LEASE_MS on that connection, and the
// connection's `idle_session_timeout` is RELAY_LEASE_MS: a holder that dies closes its connection
// (the lock goes at once), and one that freezes stops its heartbeats, so PostgreSQL ends its session
// after RELAY_LEASE_MS (the lock goes then). The other writers try to take the lock at the same
// pace, so the relay is back within about 1.25 × RELAY_LEASE_MS, and the writer that takes it logs
// how long there was none (from the last heartbeat in `relay_lease`). A holder that wakes up after
// losing the lease finds out at its next heartbeat; until then both may publish the same rows:
// duplicates, which the projections ignore, never losses.
import postgres from "postgres";
import type { Log } from "../platform/log.ts";
import { meter } from "../platform/telemetry/metrics.ts";

/** Any constant below 2^31 (pg_locks shows it as objid): names the relay's advisory lock. */
const LEASE_KEY = 724_635_190;

export interface RelayLease {
  /** Whether this writer holds the lease, as of its last heartbeat. */
  held(): boolean;
  /** Releases the lease (another writer takes it at its next try) and closes the connection. */
  stop(): Promise<void>;
}

export interface LeaseOptions {
  url: string;
  /** This writer's name in `relay_lease`, e.g. "writer@host:pid". */
  instance: string;
  leaseMs: number;
  log: Log;
  /** Called each time this writer becomes the relay. */
  onTaken: () => void;
}

/** Starts taking part; resolves once the first try is done (a lone writer then holds the lease). */
export async function startRelayLease({ url, instance, leaseMs, log, onTaken }: LeaseOptions): Promise<RelayLease> {
  const sql = postgres(url, {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    onnotice: () => {},
    connection: { application_name: "outbox-relay-lease", idle_session_timeout: leaseMs },
  });
  let holding = false;
  let stopped = false;

  const lose = (why: string) => {
    if (!holding) return;
    holding = false;
    log({ level: "warn", msg: "outbox relay lease lost", reason: why });
  };

  async function heartbeat(): Promise<void> {
    const [row] = await sql<{ mine: boolean }[]>`
      select exists (
        select 1 from pg_locks
        where locktype = 'advisory' and objid = ${LEASE_KEY} and objsubid = 1 and granted and pid = pg_backend_pid()
      ) as mine`;
    if (!row?.mine) return lose("the lease's session ended (PostgreSQL restarted, or this writer stalled)");
    await sql`update relay_lease set heartbeat_at = now() where id = 1 and holder = ${instance}`;
  }

  async function tryTake(): Promise<void> {
    const [lock] = await sql<{ locked: boolean }[]>`select pg_try_advisory_lock(${LEASE_KEY}) as locked`;
    if (!lock?.locked) return;
    const [previous] = await sql<{ holder: string; gap: number }[]>`
      select holder, extract(epoch from now() - heartbeat_at)::float8 as gap from relay_lease where id = 1`;
    await sql`
      insert into relay_lease (id, holder, heartbeat_at) values (1, ${instance}, now())
      on conflict (id) do update set holder = excluded.holder, heartbeat_at = excluded.heartbeat_at`;
    holding = true;
    log({
      msg: "outbox relay lease taken: this writer relays",
      ...(previous && previous.holder !== instance
        ? { previous_holder: previous.holder, seconds_without_relay: Math.round(previous.gap * 10) / 10 }
        : {}),
    });
    onTaken();
  }

  const tick = () =>
    (holding ? heartbeat() : tryTake()).catch((error: unknown) => {
      if (holding) lose(`PostgreSQL did not answer: ${error instanceof Error ? error.message : String(error)}`);
    });

  await tick();
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = tick().finally(() => {
      running = undefined;
    });
  }, leaseMs / 4);

  const gauge = meter().createObservableGauge("cqrs.outbox.relay.lease", {
    description: "1 on the writer that relays the outbox (holds the relay's lease), 0 on the others",
  });
  const observe = (result: { observe(value: number): void }) => result.observe(holding ? 1 : 0);
  gauge.addCallback(observe);

  return {
    held: () => holding,
    async stop() {
      stopped = true;
      clearInterval(timer);
      gauge.removeCallback(observe);
      await running;
      if (holding) {
        holding = false;
        await sql`select pg_advisory_unlock(${LEASE_KEY})`.catch(() => undefined);
      }
      await sql.end({ timeout: 2 });
    },
  };
}
