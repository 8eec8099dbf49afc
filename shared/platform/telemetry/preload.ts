// `node --import ./shared/platform/telemetry/preload.ts services/<name>/main.ts` (what `npm start`
// runs): starts telemetry before the service's own modules load.
//
// Each service has a preload of its own (preload-<service>.ts), which starts telemetry under its
// name; this one imports just the one of the service it is started for, named by the entry's
// folder. The images skip this step and preload dist/preload-<service>.js directly
// (scripts/bundle.ts).
import path from "node:path";

const PRELOADS = {
  gateway: () => import("./preload-gateway.ts"),
  writer: () => import("./preload-writer.ts"),
  reader: () => import("./preload-reader.ts"),
} as const;
type Service = keyof typeof PRELOADS;
const isService = (name: string): name is Service => Object.hasOwn(PRELOADS, name);

// services/<name>/main.ts in development, dist/<name>.js for a bundle started by hand.
const entry = process.argv[1] ?? "";
const folder = path.basename(path.dirname(entry));
const service = folder === "dist" ? path.basename(entry, path.extname(entry)) : folder;
if (!isService(service)) {
  throw new Error(
    `telemetry preload: ${entry} is no service entry (services/<name>/main.ts with name ${Object.keys(PRELOADS).join(", ")})`,
  );
}
await PRELOADS[service]();
