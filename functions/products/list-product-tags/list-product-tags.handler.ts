// ListProductTags on the reader: the live generation's counts, sorted by count then tag (an index
// serves the order; the counts are few, one per tag). Not cached, like every listing.
import { traced } from "#shared/read-side/read-model-spans.ts";
import type { ReaderDeps } from "#shared/read-side/reader-deps.ts";
import { implement } from "#shared/transport/function.ts";
import { liveTagCounts, MEMBERS } from "../product-tags-read-model.ts";
import { listProductTags, TAGS_DEFAULT_LIMIT } from "./list-product-tags.ts";

export const listProductTagsHandler = implement(listProductTags, async (request, deps: ReaderDeps) => {
  const counts = liveTagCounts(deps.readModel, deps.generations.live(MEMBERS));
  const docs = await traced(counts, "find", () =>
    counts
      .find({ count: { $gt: 0 } }, { maxTimeMS: deps.queryTimeoutMs })
      .sort({ count: -1, _id: 1 })
      .limit(request.limit ?? TAGS_DEFAULT_LIMIT)
      .toArray(),
  );
  return { items: docs.map((doc) => ({ tag: doc._id, count: doc.count ?? 0 })) };
});
