// The writer's telemetry preload (dist/preload-writer.js in its image; preload.ts picks it under
// `npm start`). Its PostgreSQL spans come from our own wrapper (shared/write-side/postgres-spans.ts),
// its Kafka spans from kafka-spans.ts and its gRPC spans from shared/transport/grpc-spans.ts.
import { preloadTelemetry } from "./setup.ts";

preloadTelemetry("writer");
