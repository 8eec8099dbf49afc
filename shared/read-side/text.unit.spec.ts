// Unit tests of search text normalisation: what the read model indexes and what a query looks up.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { normalise, queryPrefixes, wordPrefixes, words } from "./text.ts";

describe("normalise", () => {
  test("folds case and strips accents", () => {
    assert.equal(normalise("Crème BRÛLÉE"), "creme brulee");
    assert.equal(normalise("Ångström Ñandú"), "angstrom nandu");
  });

  test("decomposes compatibility characters such as ligatures", () => {
    assert.equal(normalise("ﬁne Ｗｉｄｇｅｔ"), "fine widget");
  });

  test("keeps punctuation and spacing as they are", () => {
    assert.equal(normalise("A-b, C!"), "a-b, c!");
  });
});

describe("words", () => {
  test("splits on anything that is not a letter or digit and drops empty pieces", () => {
    assert.deepEqual(words("  Super-Widget, 2000!  (blue)"), ["super", "widget", "2000", "blue"]);
  });

  test("normalises each word", () => {
    assert.deepEqual(words("Crème BRÛLÉE"), ["creme", "brulee"]);
  });

  test("no words in empty or punctuation-only text", () => {
    assert.deepEqual(words(""), []);
    assert.deepEqual(words(" -- !! "), []);
  });
});

describe("wordPrefixes", () => {
  test("every prefix of every word of every text", () => {
    assert.deepEqual(wordPrefixes("Wid", "Go"), ["w", "wi", "wid", "g", "go"]);
  });

  test("each prefix once, even when words share their beginnings", () => {
    const prefixes = wordPrefixes("wide widget", "Widget");
    assert.deepEqual(prefixes, ["w", "wi", "wid", "wide", "widg", "widge", "widget"]);
  });

  test("prefixes are accent- and case-folded", () => {
    assert.deepEqual(wordPrefixes("Été"), ["e", "et", "ete"]);
  });

  test("a long word contributes prefixes up to 24 characters only", () => {
    const long = "abcdefghijklmnopqrstuvwxyz0123"; // 30 characters
    const prefixes = wordPrefixes(long);
    assert.equal(prefixes.length, 24);
    assert.equal(prefixes.at(-1), long.slice(0, 24));
    assert.ok(prefixes.every((prefix) => prefix.length <= 24));
  });

  test("prefixes never split a character outside the BMP", () => {
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const prefix of wordPrefixes("𠀀𠀁 widget")) assert.doesNotMatch(prefix, lone);
  });

  test("nothing for empty texts", () => {
    assert.deepEqual(wordPrefixes(), []);
    assert.deepEqual(wordPrefixes("", "  "), []);
  });
});

describe("queryPrefixes", () => {
  test("the query's words, accent- and case-folded", () => {
    assert.deepEqual(queryPrefixes("Crème BRÛLÉE"), ["creme", "brulee"]);
  });

  test("each word once", () => {
    assert.deepEqual(queryPrefixes("wid WID Wíd go"), ["wid", "go"]);
  });

  test("a word longer than 24 characters is cut to what the read model indexes", () => {
    const long = "abcdefghijklmnopqrstuvwxyz0123";
    const [cut] = queryPrefixes(long);
    assert.equal(cut, long.slice(0, 24));
    assert.ok(wordPrefixes(long).includes(cut ?? ""), "the cut query word must be an indexed prefix");
  });

  test("every query word is an indexed prefix of the text it was taken from", () => {
    const text = "Crème brûlée: the Über-dessert";
    const indexed = new Set(wordPrefixes(text));
    for (const query of ["CREME", "brû", "uber", "dess", "Crème Brulée"]) {
      for (const prefix of queryPrefixes(query)) assert.ok(indexed.has(prefix), `${query}: ${prefix}`);
    }
  });

  test("no prefixes for a blank query", () => {
    assert.deepEqual(queryPrefixes("   "), []);
  });
});
