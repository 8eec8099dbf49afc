// The reader's telemetry preload (dist/preload-reader.js in its image; preload.ts picks it under
// `npm start`). The reader alone talks to MongoDB and Redis, so it alone imports their
// instrumentations: imported here rather than in setup.ts, which every service loads, they are in
// no other service's module graph, bundled or not.
import { MongoDBInstrumentation } from "@opentelemetry/instrumentation-mongodb";
import { RedisInstrumentation } from "@opentelemetry/instrumentation-redis";
import { preloadTelemetry } from "./setup.ts";

preloadTelemetry("reader", {
  // The redis package re-exports @redis/client, whose modules are the ones the instrumentation patches.
  hooked: ["mongodb", "redis", "@redis/client"],
  create: () => [new MongoDBInstrumentation({ enhancedDatabaseReporting: false }), new RedisInstrumentation()],
});
