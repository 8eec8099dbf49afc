// The relay's lease: of all the writers on one database, exactly one relays the outbox, the one that
// holds a session-level advisory lock on a connection of its own.
//
// The holder writes a heartbeat every quarter of RELAY_LEASE_MS on that connection, and the
// connection's `idle_session_timeout` is RELAY_LEASE_MS: a holder that dies closes its connection
// (the lock goes at once), and one that freezes stops its heartbeats, so PostgreSQL ends its session
// after RELAY_LEASE_MS (the lock goes then). The other writers try to take the lock at the same
// pace, so the relay is back within about 1.25 × RELAY_LEASE_MS, and the writer that takes it logs
// how long there was none (from the last heartbeat in `relay_lease`).
//
// `held()` is true only while the last confirmed heartbeat is recent (0.75 × RELAY_LEASE_MS): a
// holder that wakes up after a freeze does not drain before a heartbeat has told it whether the
// lease is still its own. A heartbeat that does not answer within half the lease period counts as
// lost. Whenever the lease is lost or given up, the connection is closed and a new one made, so a
// lock held twice by one session (advisory locks stack) can never outlive the loss. A holder whose
// relay keeps failing gives the lease up (`yieldLease`) and waits before trying again, so that a
// writer that can still publish takes over. Two writers may briefly both publish the same rows
// around a takeover: duplicates, which the projections ignore, never losses.
import postgres from "postgres";
import type { Log } from "../platform/log.ts";
import { meter } from "../platform/telemetry/metrics.ts";

/** Any constant below 2^31 (pg_locks shows it as objid): names the relay's advisory lock. */
const LEASE_KEY = 724_635_190;

export interface RelayLease {
  /** Whether this writer holds the lease, as of a heartbeat confirmed within 0.75 × the lease period. */
  held(): boolean;
  /**
   * Gives the lease up to another writer, if one takes part (the relay cannot publish from here),
   * and does not try again for one lease period.
   */
  yieldLease(reason: string): Promise<void>;
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

class TickTimeout extends Error {}

/** Starts taking part; resolves once the first try is done (a lone writer then holds the lease). */
export async function startRelayLease({ url, instance, leaseMs, log, onTaken }: LeaseOptions): Promise<RelayLease> {
  const connect = () =>
    postgres(url, {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      onnotice: () => {},
      connection: { application_name: "outbox-relay-lease", idle_session_timeout: leaseMs },
    });
  let sql = connect();
  let holding = false;
  let confirmedAt = 0;
  let notBefore = 0;
  let stopped = false;
  let lastError = 0;

  /** A new session: whatever the old one held goes with it. */
  const reconnect = () => {
    void sql.end({ timeout: 0 }).catch(() => undefined);
    sql = connect();
  };

  const lose = (why: string) => {
    reconnect();
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
    confirmedAt = Date.now();
  }

  async function tryTake(): Promise<void> {
    if (Date.now() < notBefore) return;
    const [lock] = await sql<{ locked: boolean }[]>`select pg_try_advisory_lock(${LEASE_KEY}) as locked`;
    if (!lock?.locked) return;
    let previous: { holder: string; gap: number } | undefined;
    try {
      [previous] = await sql<{ holder: string; gap: number }[]>`
        select holder, extract(epoch from now() - heartbeat_at)::float8 as gap from relay_lease where id = 1`;
      await sql`
        insert into relay_lease (id, holder, heartbeat_at) values (1, ${instance}, now())
        on conflict (id) do update set holder = excluded.holder, heartbeat_at = excluded.heartbeat_at`;
    } catch (error) {
      reconnect(); // the lock must not stay with a session that is not relaying
      throw error;
    }
    holding = true;
    confirmedAt = Date.now();
    log({
      msg: "outbox relay lease taken: this writer relays",
      ...(previous && previous.holder !== instance
        ? { previous_holder: previous.holder, seconds_without_relay: Math.round(previous.gap * 10) / 10 }
        : {}),
    });
    onTaken();
  }

  const tick = async () => {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TickTimeout()), leaseMs / 2);
    });
    try {
      await Promise.race([holding ? heartbeat() : tryTake(), limit]);
    } catch (error) {
      const why = error instanceof TickTimeout ? "PostgreSQL did not answer in time" : String(error);
      if (holding) lose(why);
      else {
        if (error instanceof TickTimeout) reconnect();
        if (Date.now() - lastError > 30_000) {
          log({ level: "warn", msg: "outbox relay lease: could not try to take it", err: error });
          lastError = Date.now();
        }
      }
    } finally {
      clearTimeout(timer);
    }
  };

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
  const held = () => holding && Date.now() - confirmedAt < leaseMs * 0.75;
  const observe = (result: { observe(value: number): void }) => result.observe(held() ? 1 : 0);
  gauge.addCallback(observe);

  return {
    held,
    async yieldLease(reason) {
      if (!holding) return;
      // Only to another writer: a lone one keeps trying itself.
      const [others] = await sql<{ count: string }[]>`
        select count(*) as count from pg_stat_activity
        where application_name = 'outbox-relay-lease' and datname = current_database() and pid <> pg_backend_pid()`.catch(
        () => [{ count: "0" }],
      );
      if (Number(others?.count ?? 0) === 0) return;
      notBefore = Date.now() + leaseMs;
      lose(`given up: ${reason}`);
    },
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
