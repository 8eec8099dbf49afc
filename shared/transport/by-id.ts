// The routes every aggregate has by id, declared once: read one (through the cache, with
// X-Min-Version and If-None-Match) and delete (with If-Match). An aggregate gives its noun, path,
// tag and item schema; the requests are the same for all.
import * as v from "valibot";
import type { Access } from "./caller.ts";
import { Id, Version } from "./fields.ts";
import { declareFunction, type TypedDeclaration } from "./function.ts";
import type { UnaryMethod } from "./grpc.ts";
import type { ReplyBody } from "./route.ts";

/** A read by id: the id, and the version the caller has seen (read your writes). */
export const GetByIdRequest = v.object({ id: Id, minVersion: v.optional(Version) });
/** A delete by id: the id, and the version the caller expects (If-Match). */
export const DeleteByIdRequest = v.object({ id: Id, expectedVersion: v.optional(Version) });

type GetById = v.InferOutput<typeof GetByIdRequest>;
type DeleteById = v.InferOutput<typeof DeleteByIdRequest>;

interface ByIdRoute<Req, Res> {
  method: UnaryMethod<Req, Res>;
  access: Access;
  description: string;
  /** e.g. product */
  noun: string;
  /** e.g. /api/v1/products/{id} */
  path: string;
  tag: { name: string; description: string };
}

/** A query that reads one item by id. */
export function declareGetById<Req extends GetById, Res>(
  spec: ByIdRoute<Req, Res> & {
    /** The item's schema and its component name in the document. */
    item: { schema: v.GenericSchema; name: string };
    reply(response: Res): ReplyBody | undefined;
  },
): TypedDeclaration<Req, Res> {
  return declareFunction<Req, Res, "id">({
    method: spec.method,
    access: spec.access,
    description: spec.description,
    request: GetByIdRequest as v.GenericSchema<unknown, Req>,
    route: {
      method: "get",
      path: spec.path,
      tag: spec.tag,
      summary: `Read one ${spec.noun}`,
      pathParams: { id: { schema: Id, description: `The ${spec.noun}'s id` } },
      headers: ["X-Min-Version", "If-None-Match"],
      toRequest: ({ params, headers }) => ({ id: params.id, minVersion: headers["X-Min-Version"] }) as Req,
      reply: spec.reply,
      missing: `no such ${spec.noun}`,
      responses: {
        200: { description: `The ${spec.noun}`, schema: spec.item.schema, name: spec.item.name, headers: ["ETag"] },
        304: { description: "If-None-Match names its current version", headers: ["ETag"] },
      },
      problems: {
        404: `no such ${spec.noun} (or it is deleted)`,
        503: "the read model did not reach X-Min-Version in time",
      },
    },
  });
}

/** A command that deletes one aggregate by id. */
export function declareDeleteById<Req extends DeleteById, Res>(spec: ByIdRoute<Req, Res>): TypedDeclaration<Req, Res> {
  return declareFunction<Req, Res, "id">({
    method: spec.method,
    access: spec.access,
    description: spec.description,
    request: DeleteByIdRequest as v.GenericSchema<unknown, Req>,
    route: {
      method: "delete",
      path: spec.path,
      tag: spec.tag,
      summary: `Delete a ${spec.noun}`,
      pathParams: { id: { schema: Id, description: `The ${spec.noun}'s id` } },
      headers: ["If-Match"],
      toRequest: ({ params, headers }) => ({ id: params.id, expectedVersion: headers["If-Match"] }) as Req,
      responses: { 204: { description: "Deleted; the ETag is the version of the deletion", headers: ["ETag"] } },
      problems: { 404: `no such ${spec.noun} (or it is deleted)`, 412: "If-Match names another version" },
    },
  });
}
