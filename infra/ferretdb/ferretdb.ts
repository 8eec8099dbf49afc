// FerretDB 1.24.2 on the project's PostgreSQL as the MongoDB-wire server. No MongoDB server is
// packaged anywhere reachable; this folder's small Go main embeds FerretDB (its own cmd panics when
// built with `go install`, lacking a release-time version file).
import { MongoClient } from "mongodb";
import { ensureGoBuild, goBinary, goMarker } from "../go-build.ts";
import { startDetached } from "../process.ts";
import type { Server, ServerContext } from "../server.ts";

const VERSION = "1.24.2";
const here = import.meta.dirname;
const binary = (ctx: ServerContext) => goBinary(ctx, "ferretdb", VERSION, here);

export const ferretdbServer: Server = {
  name: "ferretdb",
  version: () => VERSION,
  dependsOn: ["postgres"],
  stopGraceMs: 10_000,
  ports: (config) => [{ port: config.mongodb.ferretdbPort, env: "FERRETDB_PORT" }],
  address: (config) => `127.0.0.1:${config.mongodb.ferretdbPort}`,
  marker: (ctx) => goMarker(ctx, "ferretdb", VERSION),

  async provision(ctx) {
    await ensureGoBuild(ctx, { name: "ferretdb", version: VERSION, moduleDir: here, pkg: ".", expect: "about 45 s" });
  },

  async start(ctx) {
    return startDetached({
      command: binary(ctx),
      args: [
        `-listen-addr=127.0.0.1:${ctx.config.mongodb.ferretdbPort}`,
        `-postgresql-url=postgres://postgres@127.0.0.1:${ctx.config.postgres.port}/ferretdb`,
      ],
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
