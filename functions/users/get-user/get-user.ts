// GetUser: GET /api/v1/users/{id} -> 200 user with ETag. Redis first, then the read model, then a
// version-guarded fill. With a minimum version (X-Min-Version, read your writes) it waits, bounded,
// for the projection to reach it, and answers 503 past the bound. If-None-Match with the current
// version: 304.
import { Hono } from "hono";
import * as v from "valibot";
import {
  type GetUserRequest,
  type GetUserResponse,
  ReaderServiceService,
  type User,
} from "../../../proto/gen/reader/v1/reader.ts";
import { notFound, unavailable } from "../../../shared/errors.ts";
import { defineFunction } from "../../../shared/function.ts";
import { countHeader, etag, etagMatches, idParam } from "../../../shared/http.ts";
import type { ReaderDeps } from "../../../shared/tiers.ts";
import { Id, Version } from "../user.ts";
import { CACHE_KIND, toUser, users } from "../user-read-model.ts";

export const GetUserRequestSchema = v.object({
  id: Id,
  minVersion: v.optional(Version),
}) satisfies v.GenericSchema<unknown, GetUserRequest>;

const POLL_MS = 25;

async function lookup(deps: ReaderDeps, id: string, minVersion: number): Promise<User | "deleted" | undefined> {
  const cached = await deps.cache.get(CACHE_KIND, id);
  if (cached && cached.version >= minVersion) return JSON.parse(cached.body) as User;
  const doc = await users(deps.readModel).findOne({ _id: id });
  if (!doc || doc.version < minVersion) return undefined;
  if (doc.deleted) return "deleted";
  const user = toUser(doc);
  await deps.cache.fill(CACHE_KIND, id, user.version, JSON.stringify(user));
  return user;
}

export const getUser = defineFunction({
  name: "GetUser",
  tier: "reader",
  description: "Read one user by id, from the cache or the read model.",
  method: ReaderServiceService.getUser,
  request: GetUserRequestSchema,
  handler:
    (deps) =>
    async ({ id, minVersion }): Promise<GetUserResponse> => {
      const deadline = Date.now() + deps.minVersionWaitMs;
      for (;;) {
        const found = await lookup(deps, id, minVersion ?? 0);
        if (found === "deleted") throw notFound("no such user");
        if (found) return { user: found };
        if (minVersion === undefined) throw notFound("no such user");
        if (Date.now() >= deadline) throw unavailable(`the read model has not reached version ${minVersion} yet`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
  http: (call) =>
    new Hono().get("/api/v1/users/:id", async (c) => {
      const request = { id: idParam(c), minVersion: countHeader(c, "X-Min-Version") };
      const ifNoneMatch = c.req.header("If-None-Match");
      const { user } = await call(request, c);
      if (!user) throw notFound("no such user");
      c.header("ETag", etag(user.version));
      if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, user.version)) return c.body(null, 304);
      return c.json(user, 200);
    }),
});
