// The writer's telemetry preload (dist/preload-writer.js in its image; preload.ts picks it under
// `npm start`). Besides http and grpc it needs no maintained instrumentation: its PostgreSQL spans
// come from our own wrapper (shared/write-side/postgres-spans.ts) and its Kafka spans from
// kafka-spans.ts, so the reader's mongodb and redis instrumentations stay out of it.
import { preloadTelemetry } from "./setup.ts";

preloadTelemetry("writer");
