// The reader's telemetry preload (dist/preload-reader.js in its image; preload.ts picks it under
// `npm start`). Its MongoDB spans are our own (shared/read-side/read-model-spans.ts), as are its
// Redis spans (shared/read-side/cache.ts), its Kafka spans (kafka-spans.ts) and its gRPC spans.
import { preloadTelemetry } from "./setup.ts";

preloadTelemetry("reader");
