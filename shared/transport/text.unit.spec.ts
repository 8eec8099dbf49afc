import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as v from "valibot";
import { documentationOf } from "./documented.ts";
import { codePoints, type TextRules, text, textPattern } from "./text.ts";

/** Characters at every edge of the rules: controls, the spaces trim removes, astral and plain. */
const ALPHABET = [
  "a",
  "Z",
  "é",
  "字",
  "😀", // two UTF-16 units, one code point
  " ",
  "\t",
  "\n",
  "\r",
  "\u0000",
  "\u001f",
  "\u007f",
  "\u0085",
  "\u009f",
  "\u00a0",
  "\u00a1",
  "\u2000",
  "\u200b", // a zero-width space: not whitespace to trim, so allowed at the ends
  "\u2028",
  "\u3000",
  "\ufeff",
];

/** A seeded stream of strings drawn from ALPHABET, 0 to 8 characters long. */
function* samples(seed: number, count: number): Generator<string> {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state;
  };
  for (let i = 0; i < count; i += 1) {
    const length = next() % 9;
    yield Array.from({ length }, () => ALPHABET[next() % ALPHABET.length]).join("");
  }
}

const RULES: Record<string, TextRules> = {
  line: { min: 1, max: 4 },
  "padded line": { max: 4, padded: true },
  lines: { max: 4, form: "lines" },
};

/** What the document states the field accepts, judged as a JSON Schema validator would. */
function documentedAccepts(schema: v.GenericSchema, value: string): boolean {
  const pipe = (schema as unknown as { pipe: object[] }).pipe;
  const stated = pipe.map((step) => documentationOf(step)).find((found) => found !== undefined);
  assert.ok(stated, "the text's check states its rules");
  const length = codePoints(value);
  return (
    length >= (stated.minLength ?? 0) &&
    length <= (stated.maxLength ?? Number.POSITIVE_INFINITY) &&
    new RegExp(stated.pattern ?? "", "u").test(value) &&
    new RegExp(stated.pattern ?? "").test(value)
  );
}

describe("text fields", () => {
  for (const [name, rules] of Object.entries(RULES)) {
    test(`${name}: the document's lengths and pattern accept exactly what the check accepts`, () => {
      const schema = text("field", rules);
      let accepted = 0;
      for (const value of samples(7, 20_000)) {
        const checked = v.is(schema, value);
        assert.equal(documentedAccepts(schema, value), checked, JSON.stringify(value));
        if (checked) accepted += 1;
      }
      // Both answers occur, so the comparison above compared something.
      assert.ok(accepted > 100 && accepted < 19_900, `accepted ${accepted} of 20000`);
    });
  }

  test("lengths count code points, as JSON Schema does, not UTF-16 units", () => {
    const schema = text("name", { min: 1, max: 4 });
    assert.equal("😀😀😀😀".length, 8);
    assert.ok(v.is(schema, "😀😀😀😀"));
    assert.ok(!v.is(schema, "😀😀😀😀😀"));
  });

  test("each broken rule is its own message, naming the field", () => {
    const messages = (rules: TextRules, value: string) =>
      (v.safeParse(text("name", rules), value).issues ?? []).map((issue) => issue.message);
    assert.deepEqual(messages({ min: 1, max: 3 }, ""), ["name must not be empty"]);
    assert.deepEqual(messages({ min: 1, max: 3 }, " abcd"), [
      "name is at most 3 characters",
      "name must not begin or end with whitespace",
    ]);
    assert.deepEqual(messages({ max: 9 }, "a\tb"), ["name must not contain control characters"]);
    assert.deepEqual(messages({ max: 9, form: "lines" }, "a\u0000"), ["name must not contain NUL characters"]);
    assert.deepEqual(messages({ max: 9, form: "lines" }, " a\n\tb "), []);
    assert.deepEqual(messages({ max: 9, padded: true }, " a b "), []);
    assert.deepEqual(messages({ min: 2, max: 9 }, "a"), ["name is at least 2 characters"]);
  });

  test("the pattern has no flags' worth of syntax: it reads the same in ECMA-262 and Python", () => {
    for (const rules of Object.values(RULES)) {
      const pattern = textPattern(rules);
      assert.doesNotMatch(pattern, /\\[pPsSdDwWbB]|\(\?[<=!]/, "no classes or lookarounds that differ by engine");
    }
  });
});
