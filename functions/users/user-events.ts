// The user's events, declared once: what the writer may emit, what the read model accepts, and the
// state every event carries (event-carried state transfer).
//
// A deletion carries no personal data: UserDeleted (schema version 2) holds the id, the version and
// when, nothing else. Version-1 deletions, which carried the email and name, stay in the topics as
// they were written; `upcasters[1]` drops those fields wherever they are read.
import * as v from "valibot";
import { defineEvents, type EventData } from "#shared/platform/events.ts";

const id = v.pipe(v.string(), v.uuid());
const version = v.pipe(v.number(), v.integer());
const timestamp = v.pipe(v.string(), v.isoTimestamp());

/** A live user's state: what UserCreated and UserUpdated carry. */
export const LiveUserData = v.object({
  id,
  email: v.string(),
  name: v.string(),
  /** Added after the first events, which lack it: their users belong to nobody (null). */
  subject: v.optional(v.nullable(v.string()), null),
  version,
  createdAt: timestamp,
  updatedAt: timestamp,
  deleted: v.literal(false),
});

/** A deleted user: what UserDeleted carries, nothing personal. */
export const DeletedUserData = v.object({ id, version, updatedAt: timestamp, deleted: v.literal(true) });

export const UserData = v.variant("deleted", [LiveUserData, DeletedUserData]);

export type UserData = v.InferOutput<typeof UserData>;

/** UserDeleted version 1 -> 2: the email, the name and the creation time go. */
export function withoutPersonalData({ id, version, updatedAt }: EventData): EventData {
  return { id, version, updatedAt, deleted: true };
}

export const userEvents = defineEvents({
  aggregateType: "user",
  types: {
    UserCreated: { version: 1 },
    UserUpdated: { version: 1 },
    UserDeleted: { version: 2, upcasters: { 1: withoutPersonalData } },
  },
  data: UserData,
});
