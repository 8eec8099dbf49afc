// The user's events, declared once: what the writer may emit, what the read model accepts, and the
// state every event carries (event-carried state transfer).
import * as v from "valibot";
import { defineEvents } from "#shared/platform/events.ts";

export const UserData = v.object({
  id: v.pipe(v.string(), v.uuid()),
  email: v.string(),
  name: v.string(),
  version: v.pipe(v.number(), v.integer()),
  createdAt: v.pipe(v.string(), v.isoTimestamp()),
  updatedAt: v.pipe(v.string(), v.isoTimestamp()),
  deleted: v.boolean(),
});

export type UserData = v.InferOutput<typeof UserData>;

export const userEvents = defineEvents({
  aggregateType: "user",
  types: { UserCreated: { version: 1 }, UserUpdated: { version: 1 }, UserDeleted: { version: 1 } },
  data: UserData,
});
