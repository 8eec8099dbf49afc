// How a service runs as its own process (npm start, and tests that need one process per service):
// telemetry preloaded before the service's own modules, so instrumentations can patch them.
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");

export type ServiceName = "gateway" | "writer" | "reader";

export function serviceArgs(name: ServiceName): string[] {
  return [
    "--import",
    path.join(root, "shared", "platform", "telemetry", "preload.ts"),
    path.join(root, "services", name, "main.ts"),
  ];
}
