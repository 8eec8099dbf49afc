// A writer's relay lease alone in a process, for the lease test to freeze: takes part with
// LEASE_URL and LEASE_MS, prints "held" once it holds the lease.
import { startRelayLease } from "#shared/write-side/relay-lease.ts";

const url = process.env.LEASE_URL ?? "";
const lease = await startRelayLease({
  url,
  instance: `fixture:${process.pid}`,
  leaseMs: Number(process.env.LEASE_MS),
  log: () => {},
  onTaken: () => console.log("held"),
});
process.on("SIGTERM", () => void lease.stop().then(() => process.exit(0)));
