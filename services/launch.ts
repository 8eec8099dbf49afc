// How a service runs as its own process (npm start, and tests that need one process per service):
// telemetry preloaded before the service's own modules, so that the first span has a provider.
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");

export type ServiceName = "gateway" | "writer" | "reader";

/**
 * V8's flags for every service process, here and in the image (Dockerfile's CMD). On a machine with
 * gigabytes of memory V8 sizes the young generation at up to 64 MB per semi-space, and a service's
 * short-lived garbage (requests, messages) soon touches all of it: 128 MB of a writer's 278 MB at
 * rest was new space. 8 MB semi-spaces keep it at 16 MB; scavenges come more often and each is
 * cheaper (the bench's figures: docs/architecture.md, "Tiers and sides"). `--expose-gc` lets a
 * service give a burst's memory back once it is idle (shared/platform/memory-trim.ts).
 */
export const NODE_FLAGS = ["--max-semi-space-size=8", "--expose-gc"];

export function serviceArgs(name: ServiceName): string[] {
  return [
    ...NODE_FLAGS,
    "--import",
    path.join(root, "shared", "platform", "telemetry", "preload.ts"),
    path.join(root, "services", name, "main.ts"),
  ];
}
