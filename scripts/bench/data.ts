// The benchmark's data (`npm run bench`): products and users made by a seeded generator, so that
// every run, on any machine, measures the system and the baselines on exactly the same data, and
// the search shapes it times, each matching a stated share of the live items at every size.
//
// Everything is laid out in blocks of 100 consecutive items. In each block a seeded shuffle picks
// exactly which items are deleted (5), carry the `q` word (1) and carry each special tag, so the
// shares are exact at every size that is a multiple of 100 (1k, 10k, 100k) and close below. Each
// item is a pure function of (seed, index): the first 1k of the 10k set are the 1k set.
import { createHash } from "node:crypto";
import type { ProductFields, ProductState } from "#functions/products/product.ts";
import type { UserFields, UserState } from "#functions/users/user.ts";
import { words } from "#shared/read-side/text.ts";

/** Raise it whenever the generator's output changes: it names kept data sets (`paramsKey`). */
export const GENERATOR_VERSION = 2;

export interface GeneratorParams {
  /** How many items; deleted ones included. */
  count: number;
  /** Any whole number from 0 to 2^32 - 1. */
  seed: number;
}

// --- The seeded randomness: a 32-bit hash to derive a stream per (seed, purpose, index), and
// mulberry32 for the stream. A few lines of our own, so no library update can change the data.

function mix(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of whole numbers (each taken modulo 2^32). */
export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) h = mix(h ^ mix(part + 0x632be5ab));
  return h;
}

/** mulberry32: uniform numbers in [0, 1), the same sequence for the same seed everywhere. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Random = () => number;

/** A whole number in [min, max]. */
const between = (random: Random, min: number, max: number) => min + Math.floor(random() * (max - min + 1));

function pick<T>(random: Random, list: readonly T[]): T {
  const item = list[Math.floor(random() * list.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

/** `n` distinct items of `list`, in a random order. */
function pickDistinct<T>(random: Random, list: readonly T[], n: number): T[] {
  const pool = [...list];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) {
    const [item] = pool.splice(Math.floor(random() * pool.length), 1);
    if (item !== undefined) out.push(item);
  }
  return out;
}

// Salts: each purpose draws from its own stream, so adding a draw to one leaves the others alone.
const SALT = { productBlock: 1, product: 2, productId: 3, userBlock: 4, user: 5, userId: 6 } as const;

function checkParams({ count, seed }: GeneratorParams): void {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a whole number >= 0, not ${count}`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new RangeError(`seed must be a whole number from 0 to 2^32 - 1, not ${seed}`);
  }
}

// --- Blocks: which item of each 100 plays which part.

const BLOCK = 100;
/** Per block: the first DELETED positions of the shuffle are deleted, the next ones have roles. */
const DELETED = 5;
const LIVE_PER_BLOCK = BLOCK - DELETED;

/** A seeded permutation of 0..99 for block `block`: position in the block -> rank. */
function blockRanks(seed: number, salt: number, block: number): Int8Array {
  const random = mulberry32(hash32(seed, salt, block));
  const order = Array.from({ length: BLOCK }, (_, i) => i);
  for (let i = BLOCK - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = order[i] ?? i;
    order[i] = order[j] ?? j;
    order[j] = a;
  }
  const ranks = new Int8Array(BLOCK);
  order.forEach((position, rank) => {
    ranks[position] = rank;
  });
  return ranks;
}

/** The rank of each item, computing one block's shuffle at a time (items come in index order). */
function ranker(seed: number, salt: number): (index: number) => number {
  let block = -1;
  let ranks: Int8Array = new Int8Array(BLOCK);
  return (index) => {
    const b = Math.floor(index / BLOCK);
    if (b !== block) {
      block = b;
      ranks = blockRanks(seed, salt, b);
    }
    return ranks[index % BLOCK] ?? 0;
  };
}

// --- Time and ids.

/** Item i is created in minute i after this instant, at a seeded millisecond of that minute. */
const EPOCH = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;
const DAY = 86_400_000;

const hex = (value: number, digits: number) => value.toString(16).padStart(digits, "0");

/**
 * A UUIDv7 (RFC 9562): the creation time in its first 48 bits, as the writer's ids have, then
 * seeded bits and the index, so ids are unique and differ with the seed.
 */
function uuidV7(createdAt: number, seed: number, salt: number, index: number): string {
  const random = hash32(seed, salt, index);
  const more = hash32(seed, salt, index, 1);
  const ms = hex(createdAt, 12);
  const randA = hex(random & 0xfff, 3);
  // The variant (binary 10) and 14 seeded bits, 16 more seeded bits, then the index's 32 bits.
  const variant = hex(0x8000 | ((random >>> 12) & 0x3fff), 4);
  const tail = hex(more >>> 16, 4) + hex(index >>> 0, 8);
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${randA}-${variant}-${tail}`;
}

/** A created item's times: version 1 live, or version 2 deleted some days later. */
function lifecycle(random: Random, index: number, deleted: boolean) {
  const createdAt = new Date(EPOCH + index * MINUTE + between(random, 0, MINUTE - 1));
  const updatedAt = deleted ? new Date(createdAt.getTime() + between(random, DAY, 30 * DAY)) : createdAt;
  return { version: deleted ? 2 : 1, createdAt, updatedAt, deleted };
}

// --- Products.

// biome-ignore format: a word list reads best in rows
const ADJECTIVES = [
  "Sturdy", "Compact", "Classic", "Modern", "Rustic", "Sleek", "Bright", "Quiet", "Rapid", "Gentle",
  "Bold", "Smart", "Handy", "Cozy", "Deluxe", "Elegant", "Fresh", "Golden", "Hardy", "Ideal",
  "Jolly", "Keen", "Lucky", "Mighty", "Noble", "Nimble", "Prime", "Royal", "Silent", "Simple",
  "Solid", "Swift", "Tidy", "Urban", "Vivid", "Warm", "Wild", "Zesty", "Soft", "Light",
] as const;

// biome-ignore format: a word list reads best in rows
const MATERIALS = [
  "Oak", "Walnut", "Maple", "Bamboo", "Steel", "Copper", "Brass", "Granite", "Marble", "Linen",
  "Cotton", "Wool", "Leather", "Ceramic", "Glass", "Cork", "Slate", "Velvet", "Crème", "Ivory",
  "Teal", "Amber", "Olive", "Crimson",
] as const;

// biome-ignore format: a word list reads best in rows
const NOUNS = [
  "Lamp", "Chair", "Table", "Kettle", "Mug", "Bowl", "Vase", "Shelf", "Clock", "Mirror",
  "Pillow", "Blanket", "Rug", "Basket", "Bottle", "Jar", "Tray", "Candle", "Planter", "Stool",
  "Desk", "Bench", "Cabinet", "Drawer", "Hook", "Frame", "Speaker", "Backpack", "Wallet", "Notebook",
  "Pen", "Umbrella", "Scarf", "Glove", "Towel", "Apron", "Skillet", "Teapot", "Grinder", "Whisk",
] as const;

// biome-ignore format: a word list reads best in rows
const PHRASES = [
  "easy to clean", "built to last", "ideal for small spaces", "a gift for every season",
  "designed in Lisbon", "packed without plastic", "with a two year warranty", "finished by hand",
  "stackable and light", "safe in the dishwasher", "fits any room", "made in small batches",
  "tested for daily use", "with a soft touch finish", "from certified sources", "shipped flat",
  "repairable for years", "a café favourite", "quick to assemble", "water resistant",
] as const;

/** The word of the `q` shape: no other word of the lists above starts with its query prefix. */
export const PRODUCT_MARKER_WORD = "Heirloom";

/** 48 ordinary tags; with the two special ones below, 50. */
// biome-ignore format: a word list reads best in rows
const TAGS = [
  "kitchen", "living", "bedroom", "bathroom", "garden", "office", "outdoor", "kids",
  "travel", "lighting", "storage", "decor", "textiles", "tableware", "cookware", "furniture",
  "tools", "gifts", "seasonal", "eco", "handmade", "vintage", "minimal", "premium",
  "budget", "new", "limited", "imported", "local", "organic", "recycled", "wooden",
  "metal", "glassware", "stoneware", "cotton", "wool", "leather", "small", "large",
  "set", "single", "red", "blue", "green", "black", "white", "grey",
] as const;

/** Carried by 4 live products in each 100; half of them priced inside PRICE_RANGE. */
export const RANGE_TAG = "clearance";
/** Carried by 10 live products in each 100, for a tag search sorted by price. */
export const SORT_TAG = "bestseller";
export const ALL_TAGS: readonly string[] = [...TAGS, RANGE_TAG, SORT_TAG];

/** Prices: 0.99 to 999.99, uniform in steps of one unit (100 minor units). */
const PRICE_STEPS = 1000;
const priceOf = (step: number) => step * 100 + 99;
/** The middle half of the steps: what the tag + price shape asks for. */
export const PRICE_RANGE = { minPriceCents: priceOf(250), maxPriceCents: priceOf(749) } as const;

type ProductRole = "deleted" | "marker" | "rangeIn" | "rangeOut" | "sortTag" | "plain";

/** How many live products of each block of 100 (95 live) play each role; the rest are plain. */
const PRODUCT_ROLES = { marker: 1, rangeIn: 2, rangeOut: 2, sortTag: 10 } as const;
const ROLE_ORDER = ["marker", "rangeIn", "rangeOut", "sortTag"] as const;

function productRole(rank: number): ProductRole {
  let start = DELETED;
  if (rank < start) return "deleted";
  for (const role of ROLE_ORDER) {
    start += PRODUCT_ROLES[role];
    if (rank < start) return role;
  }
  return "plain";
}

const seedTag = (seed: number) => hex(seed, 8);

/** The sku of seeded product `index`: BENCH- says it is bench data; unique per seed and index. */
export const benchSku = (seed: number, index: number) => `BENCH-${seedTag(seed)}-${String(index).padStart(7, "0")}`;

function productFields(random: Random, role: ProductRole, sku: string): ProductFields {
  const adjective = role === "marker" ? PRODUCT_MARKER_WORD : pick(random, ADJECTIVES);
  const material = pick(random, MATERIALS);
  const noun = pick(random, NOUNS);
  const [first, second] = pickDistinct(random, PHRASES, 2);
  const description = `${noun} in ${material.toLowerCase()}, ${first}, ${second}.`;
  const tags = pickDistinct<string>(random, TAGS, between(random, 1, 3));
  if (role === "rangeIn" || role === "rangeOut") tags.push(RANGE_TAG);
  if (role === "sortTag") tags.push(SORT_TAG);
  // In range: steps 250..749; out of range: the 500 others. Everyone else: any step. Either way the
  // price spread stays uniform.
  const outside = between(random, 0, 499);
  const step =
    role === "rangeIn"
      ? between(random, 250, 749)
      : role === "rangeOut"
        ? outside < 250
          ? outside
          : outside + 500
        : between(random, 0, PRICE_STEPS - 1);
  return {
    sku,
    name: `${adjective} ${material} ${noun}`,
    description,
    priceCents: priceOf(step),
    currency: random() < 0.8 ? "EUR" : pick(random, ["USD", "GBP", "CHF"]),
    stock: between(random, 0, 500),
    tags,
  };
}

/** The products of `params`, in index order, one at a time (100k need not be held at once). */
export function* productsOf(params: GeneratorParams): Generator<ProductState> {
  checkParams(params);
  const { seed, count } = params;
  const rank = ranker(seed, SALT.productBlock);
  for (let index = 0; index < count; index++) {
    const random = mulberry32(hash32(seed, SALT.product, index));
    const role = productRole(rank(index));
    const fields = productFields(random, role, benchSku(seed, index));
    const times = lifecycle(random, index, role === "deleted");
    const id = uuidV7(times.createdAt.getTime(), seed, SALT.productId, index);
    yield { id, ...fields, ...times };
  }
}

export const generateProducts = (params: GeneratorParams): ProductState[] => [...productsOf(params)];

/**
 * The fields of a product a benchmark run creates: never a seeded sku (those start BENCH-), and
 * unique per `run` (a short tag of letters and digits) and `n`, so a create is never a 409.
 */
export function newProductFields(seed: number, run: string, n: number): ProductFields {
  if (!/^[A-Za-z0-9]{1,16}$/.test(run)) throw new RangeError(`run must be 1 to 16 letters or digits, not ${run}`);
  return productFields(mulberry32(hash32(seed, SALT.product, 0x8000_0000 + n)), "plain", `NEW-${run}-${n}`);
}

// --- Users.

// biome-ignore format: a word list reads best in rows
const FIRST_NAMES = [
  "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
  "Donald", "Radia", "Tim", "Sophie", "Hedy", "Katherine", "John", "Mary", "Niklaus", "Zoë",
  "Renée", "José", "Björn", "Chloé", "Émile", "Inès", "Jürgen", "Noël", "Anaïs", "Élodie",
  "Hugo", "Lena", "Omar", "Priya", "Ravi", "Sara", "Tomás", "Yara", "Wei", "Kofi",
] as const;

// biome-ignore format: a word list reads best in rows
const LAST_NAMES = [
  "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen", "Dijkstra",
  "Knuth", "Perlman", "Berners", "Wilson", "Lamarr", "Johnson", "McCarthy", "Keller", "Wirth", "Ångström",
  "Müller", "García", "Núñez", "François", "Brontë", "Costa", "Silva", "Novak", "Haddad", "Okafor",
  "Tanaka", "Kim", "Singh", "Rossi", "Dubois", "Jansen", "Larsen", "Moreau", "Petrov", "Sato",
] as const;

/** The first name of the `q` shape's users; no other name starts with its query prefix. */
export const USER_MARKER_NAME = "Quinlan";

function userFields(random: Random, marker: boolean, unique: string): UserFields {
  const name = `${marker ? USER_MARKER_NAME : pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`;
  // The address from the name's words, accents gone (words() normalises), so it is plain ASCII.
  return { email: `${words(name).join(".")}.${unique}@bench.example`, name };
}

/** The users of `params`, in index order: 5 in 100 deleted, 1 in 95 live named USER_MARKER_NAME. */
export function* usersOf(params: GeneratorParams): Generator<UserState> {
  checkParams(params);
  const { seed, count } = params;
  const rank = ranker(seed, SALT.userBlock);
  for (let index = 0; index < count; index++) {
    const random = mulberry32(hash32(seed, SALT.user, index));
    const r = rank(index);
    const fields = userFields(random, r === DELETED, `${seedTag(seed)}.${index}`);
    const times = lifecycle(random, index, r < DELETED);
    const id = uuidV7(times.createdAt.getTime(), seed, SALT.userId, index);
    yield { id, ...fields, subject: null, ...times };
  }
}

export const generateUsers = (params: GeneratorParams): UserState[] => [...usersOf(params)];

/** The fields of a user a benchmark run creates: an email no seeded user and no other run has. */
export function newUserFields(seed: number, run: string, n: number): UserFields {
  if (!/^[A-Za-z0-9]{1,16}$/.test(run)) throw new RangeError(`run must be 1 to 16 letters or digits, not ${run}`);
  return userFields(mulberry32(hash32(seed, SALT.user, 0x8000_0000 + n)), false, `new.${run}.${n}`);
}

// --- The search shapes the benchmark times.

export interface SearchShape {
  id: string;
  title: string;
  /** Which live items the selectivity is a share of. */
  collection: "products" | "users";
  /** The gateway path and query. */
  path: string;
  /** The share of the collection's live items the query matches (before the page limit). */
  selectivity: number;
  describe: string;
  /**
   * Set on a next-page shape: the `id` of the shape whose answer's `nextCursor` this one needs.
   * At run time, request that shape first and call `withCursor(path, answer.nextCursor)`.
   */
  needsCursorFrom?: string;
}

const LIMIT = 20;
const BROWSE = `/api/v1/products?sort=name&limit=${LIMIT}`;

export const SEARCH_SHAPES: readonly SearchShape[] = [
  {
    id: "products-q",
    title: "products: q (1%)",
    collection: "products",
    path: `/api/v1/products?q=${PRODUCT_MARKER_WORD.slice(0, 5).toLowerCase()}&limit=${LIMIT}`,
    selectivity: PRODUCT_ROLES.marker / LIVE_PER_BLOCK,
    describe: `a word prefix only the name word "${PRODUCT_MARKER_WORD}" starts; 1 live product in 95 has it`,
  },
  {
    id: "products-tag-price",
    title: "products: tag + price range (2%)",
    collection: "products",
    path: `/api/v1/products?tag=${RANGE_TAG}&minPriceCents=${PRICE_RANGE.minPriceCents}&maxPriceCents=${PRICE_RANGE.maxPriceCents}&limit=${LIMIT}`,
    selectivity: PRODUCT_ROLES.rangeIn / LIVE_PER_BLOCK,
    describe: `tag "${RANGE_TAG}" (4 live products in 95) and the middle half of the prices, which holds 2 of those 4`,
  },
  {
    id: "products-browse",
    title: "products: browse by name, page 1",
    collection: "products",
    path: BROWSE,
    selectivity: 1,
    describe: "no filter, sorted by name: every live product, first page",
  },
  {
    id: "products-browse-next",
    title: "products: browse by name, page 2",
    collection: "products",
    path: BROWSE,
    selectivity: 1,
    describe: "the next page of products-browse, by its nextCursor",
    needsCursorFrom: "products-browse",
  },
  {
    id: "products-tag-by-price",
    title: "products: tag, by -priceCents (10%)",
    collection: "products",
    path: `/api/v1/products?tag=${SORT_TAG}&sort=-priceCents&limit=${LIMIT}`,
    selectivity: PRODUCT_ROLES.sortTag / LIVE_PER_BLOCK,
    describe: `tag "${SORT_TAG}" (10 live products in 95), dearest first`,
  },
  {
    id: "users-q",
    title: "users: q (1%)",
    collection: "users",
    path: `/api/v1/users?q=${USER_MARKER_NAME.slice(0, 5).toLowerCase()}&limit=${LIMIT}`,
    selectivity: 1 / LIVE_PER_BLOCK,
    describe: `a prefix of the first name "${USER_MARKER_NAME}" (and so of those users' emails); 1 live user in 95`,
  },
];

/** A shape's path for the page after the one whose answer gave `cursor`. */
export const withCursor = (path: string, cursor: string) => `${path}&cursor=${encodeURIComponent(cursor)}`;

// --- Naming kept data sets.

type KeyValue = string | number | boolean;

/**
 * A short stable name for the data `params` describe (e.g. {products: 100000, users: 10000, seed: 1})
 * and GENERATOR_VERSION: the same parameters and generator give the same key, key order aside.
 */
export function paramsKey(params: Readonly<Record<string, KeyValue>>): string {
  const entries = Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const digest = createHash("sha256")
    .update(JSON.stringify({ generator: GENERATOR_VERSION, params: entries }))
    .digest("hex");
  return `g${GENERATOR_VERSION}-${digest.slice(0, 12)}`;
}
