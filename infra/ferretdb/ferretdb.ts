// FerretDB 1.24.2 on the project's PostgreSQL as the MongoDB-wire server. No MongoDB server is
// packaged anywhere reachable; this folder's small Go main embeds FerretDB (its own cmd panics when
// built with `go install`, lacking a release-time version file), built with this folder's patches:
// pushdown.patch so that the read model's queries use indexes, sjson-decoding.patch so that reading
// a document costs less, upsert.patch so that the projection's versioned upsert is one statement
// and a bulk of them one transaction (PATCH.md).
import path from "node:path";
import { MongoClient } from "mongodb";
import { ensureGoBuild, type GoBuildOptions, goBinary, goMarker, goRequirement } from "../go-build.ts";
import { startDetached } from "../process.ts";
import type { Server, ServerContext } from "../server.ts";

export const VERSION = "1.24.2";
const here = import.meta.dirname;
const binary = (ctx: ServerContext) => goBinary(ctx, "ferretdb", VERSION, here);

/**
 * The FerretDB binary, built if missing: patched (what the stack runs), or `stock` (as published,
 * for tests/ferretdb/pushdown.int.spec.ts to compare against).
 */
export const ensureFerretdb = (ctx: ServerContext, options: GoBuildOptions = {}) =>
  ensureGoBuild(
    ctx,
    {
      name: "ferretdb",
      version: VERSION,
      moduleDir: here,
      pkg: ".",
      expect: "about 45 s",
      patches: { module: "github.com/FerretDB/FerretDB", version: `v${VERSION}` },
    },
    options,
  );

/** The arguments that serve the wire protocol on `port` from the PostgreSQL database at `postgresqlUrl`. */
export const ferretdbArgs = (port: number, postgresqlUrl: string) => [
  `-listen-addr=127.0.0.1:${port}`,
  `-postgresql-url=${withCustomPlans(postgresqlUrl)}`,
];

/**
 * `postgresqlUrl` with `plan_cache_mode=force_custom_plan` (a runtime parameter pgx sends on
 * connect), unless the URL sets it. FerretDB prepares every statement once per connection and runs
 * it again with new values; after five runs PostgreSQL may switch to a generic plan, costed without
 * the values, where `(_jsonb->'tags') @> $2` looks rare and `LIMIT $3` unknown. For a tag sorted by
 * price at 100k products that plan took the GIN index and sorted 10,000 matches, 130-190 ms a find,
 * instead of walking the price index for 2 ms (PATCH.md, "Plans").
 */
export function withCustomPlans(postgresqlUrl: string): string {
  const url = new URL(postgresqlUrl);
  if (!url.searchParams.has("plan_cache_mode")) url.searchParams.set("plan_cache_mode", "force_custom_plan");
  return url.toString();
}

/**
 * Go's collector, less often: FerretDB turns every document into garbage (jsonb decoded, updated,
 * encoded again), and with Go's default GOGC=100 on its small heap it collected so often that a
 * projection catch-up of 10k events on 10k products ran at 145 events/s (npm run bench -- --only
 * catch-up.10k); GOGC=400: 204, GOGC=1000: 221, its RSS 46 -> 74 MB. GOMEMLIMIT caps what a large
 * in-memory query (a filter the patch cannot push) lets the heap grow to. Either one set in the
 * environment wins.
 */
const GO_MEMORY = { GOGC: "1000", GOMEMLIMIT: "1GiB" };

export const ferretdbServer: Server = {
  name: "ferretdb",
  version: () => VERSION,
  dependsOn: ["postgres-read"],
  stopGraceMs: 10_000,
  ports: (config) => [{ port: config.mongodb.ferretdbPort, env: "FERRETDB_PORT" }],
  address: (config) => `127.0.0.1:${config.mongodb.ferretdbPort}`,
  marker: (ctx) => goMarker(ctx, "ferretdb", VERSION),
  build: binary,
  requirements: (ctx) => [goRequirement(ctx, "ferretdb", VERSION, here)],
  // The stock build too: tests/ferretdb/pushdown.int.spec.ts compares the patched one with it.
  cacheDirs: (ctx) => [
    path.dirname(binary(ctx)),
    path.dirname(goBinary(ctx, "ferretdb", VERSION, here, { stock: true })),
  ],

  async provision(ctx) {
    await ensureFerretdb(ctx);
  },

  async start(ctx) {
    return startDetached({
      command: binary(ctx),
      args: ferretdbArgs(ctx.config.mongodb.ferretdbPort, ctx.config.postgres.ferretdbUrl),
      env: { ...GO_MEMORY, ...process.env },
      pidFile: ctx.pidFile,
      logFile: ctx.logFile,
    });
  },

  async ping(ctx) {
    const client = new MongoClient(`mongodb://127.0.0.1:${ctx.config.mongodb.ferretdbPort}/`, {
      serverSelectionTimeoutMS: 1000,
      connectTimeoutMS: 1000,
      directConnection: true,
    });
    try {
      const hello = await client.db("admin").command({ hello: 1 });
      if (hello.ok !== 1) throw new Error("hello did not answer ok");
    } finally {
      await client.close();
    }
  },
};
