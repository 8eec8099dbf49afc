// `node --import ./shared/platform/telemetry/preload.ts <service entry>`: starts telemetry before the service's
// own modules load, so the instrumentations can patch http, grpc, mongodb and redis as they are
// imported. The service name comes from OTEL_SERVICE_NAME, else from the entry's folder name.
import path from "node:path";
import { register } from "import-in-the-middle/register-hooks.mjs";
import { startTelemetry } from "./setup.ts";

// ES module imports of the instrumented packages go through this hook; nothing else does.
register({ include: ["@grpc/grpc-js", "mongodb", "redis", "@redis/client", "http", "https", "node:http"] });

// services/<name>/main.ts in development, dist/<name>.js in the image.
const entry = process.argv[1] ?? "";
const folder = path.basename(path.dirname(entry));
const fromEntry = folder === "dist" ? path.basename(entry, path.extname(entry)) : folder;
startTelemetry(process.env.OTEL_SERVICE_NAME ?? fromEntry);
