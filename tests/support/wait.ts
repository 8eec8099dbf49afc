// The two waiting helpers every test uses: a free loopback port, and polling a condition with a
// deadline (never a fixed sleep standing in for it).
import fs from "node:fs";
import net from "node:net";

/** Where the kernel picks the local ports of outgoing connections ("32768 60999" on Linux by default). */
function ephemeralStart(): number {
  try {
    return Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/** Ports this process handed out already: never twice. */
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback TCP port nothing listens on right now, below the kernel's range for outgoing
 * connections: a port the kernel picks for port 0 is one of those, and under load an outgoing
 * connection could take it between this answer and the service binding it ("No address added").
 */
export async function freePort(): Promise<number> {
  const top = ephemeralStart();
  const bottom = Math.max(1024, top - 2700);
  for (let tries = 0; tries < 1000; tries++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    if (handedOut.has(port)) continue;
    // Reserved before the check: concurrent calls never hand out the same port.
    handedOut.add(port);
    if (await bindable(port)) return port;
    handedOut.delete(port);
  }
  throw new Error(`no free port from ${bottom} to ${top - 1}`);
}

/**
 * Polls `probe` every `pollMs` until it returns a value other than undefined, or fails after `ms`
 * naming what it waited for.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 15_000,
  pollMs = 25,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
