// The reader's telemetry preload (dist/preload-reader.js in its image; preload.ts picks it under
// `npm start`). The reader alone talks to MongoDB, so it alone imports its instrumentation:
// imported here rather than in setup.ts, which every service loads, it is in no other service's
// module graph, bundled or not. Its Redis commands are spans of its own (shared/read-side/cache.ts).
import { MongoDBInstrumentation } from "@opentelemetry/instrumentation-mongodb";
import { mongoStatement } from "./mongodb-statement.ts";
import { preloadTelemetry } from "./setup.ts";

preloadTelemetry("reader", {
  hooked: ["mongodb"],
  create: () => [
    new MongoDBInstrumentation({ enhancedDatabaseReporting: false, dbStatementSerializer: mongoStatement }),
  ],
});
