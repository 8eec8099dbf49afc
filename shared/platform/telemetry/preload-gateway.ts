// The gateway's telemetry preload (dist/preload-gateway.js in its image; preload.ts picks it under
// `npm start`). The gateway serves HTTP and calls gRPC and talks to no database: its spans are its
// HTTP server span (gateway.ts) and its gRPC client spans (shared/transport/grpc-spans.ts).
import { preloadTelemetry } from "./setup.ts";

preloadTelemetry("gateway");
