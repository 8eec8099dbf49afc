// The tag counts' change mark against the real MongoDB wire (FerretDB): readers' batches mark the
// same new tags at the same time (every partition's first batch does), and FerretDB's upsert reads,
// then inserts, so all but one of such inserts fail on the duplicate _id. A mark must survive that:
// a failed mark fails its whole batch, which is then retried and reports as stale the writes its
// first attempt had applied.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Db, MongoClient } from "mongodb";
import { cleanUp, testConfig } from "#tests/support/system.ts";
import { MEMBERS, productTagsProjection, TAGS, type TagCountDoc } from "./product-tags-read-model.ts";

const config = testConfig("product_tags_mark_int");
let mongo: MongoClient | undefined;
let db: Db;

before(async () => {
  mongo = await new MongoClient(config.mongodb.url, { serverSelectionTimeoutMS: 5000 }).connect();
  db = mongo.db(config.mongodb.database);
});

after(async () => {
  await mongo?.close();
  await cleanUp(config);
});

test("marks of the same new tags at once all succeed, and register each tag once", async () => {
  const derived = productTagsProjection.derived;
  assert.ok(derived, "the tags projection has derived counts");
  const tags = ["mark-a", "mark-b", "mark-c"];
  const marks = await Promise.allSettled(Array.from({ length: 12 }, () => derived.mark(db, MEMBERS, tags)));
  assert.deepEqual(
    marks.flatMap((mark) => (mark.status === "rejected" ? [String(mark.reason)] : [])),
    [],
    "no mark failed",
  );
  const counts = await db.collection<TagCountDoc>(TAGS).find({}).sort({ _id: 1 }).toArray();
  assert.deepEqual(
    counts.map((doc) => doc._id),
    ["mark-a", "mark-b", "mark-c", "~changed"],
  );
  assert.ok((counts.at(-1)?.dirty ?? 0) >= 1, "the collection is marked changed");
});
