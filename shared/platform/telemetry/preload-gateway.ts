// The gateway's telemetry preload (dist/preload-gateway.js in its image; preload.ts picks it under
// `npm start`). The gateway serves HTTP and calls gRPC and talks to no database, so http and grpc are
// all it instruments: no database instrumentation is loaded into it.
import { preloadTelemetry } from "./setup.ts";

preloadTelemetry("gateway");
