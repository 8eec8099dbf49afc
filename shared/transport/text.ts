// Text fields with one set of rules for the gateway's check and the OpenAPI document, so that what
// the document calls valid is exactly what is accepted. Lengths count code points, as JSON Schema's
// minLength and maxLength do (JavaScript's `length` counts UTF-16 units: an emoji is two). Nothing
// is trimmed: text with whitespace at either end is refused by name, since a length or pattern the
// document states could not describe a value that is trimmed first.
import * as v from "valibot";
import { documented } from "./documented.ts";

/** Control characters (Unicode's Cc: C0, DEL and C1), written so ECMA and Python regexes agree. */
const CONTROL = "\\x00-\\x1f\\x7f-\\x9f";
/** What String.prototype.trim removes besides control characters: the Unicode spaces and the BOM. */
const SPACE = " \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";

export interface TextRules {
  /** The fewest code points (default 0). */
  min?: number;
  /** The most code points. */
  max: number;
  /**
   * "line" (the default): one line, so no control character at all (tabs and newlines included),
   * and no whitespace at either end. "lines": any text PostgreSQL can store, i.e. anything but NUL.
   */
  form?: "line" | "lines";
  /** In a line: whether whitespace at either end is kept as given (a search) instead of refused. */
  padded?: boolean;
}

/** The one pattern a text's characters must match, as an ECMA-262 source without flags. */
export function textPattern(rules: TextRules): string {
  if (rules.form === "lines") return "^[^\\x00]*$";
  if (rules.padded) return `^[^${CONTROL}]*$`;
  const edge = `[^${CONTROL}${SPACE}]`;
  return `^(?:${edge}(?:[^${CONTROL}]*${edge})?)?$`;
}

/** The number of code points in `text` (what JSON Schema's lengths count). */
export const codePoints = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

/**
 * A string field's schema: `field` names it in the messages. Each broken rule is its own issue
 * (empty, too long, a control or NUL character, whitespace at an end), and the document states all
 * of them as minLength, maxLength and one pattern.
 */
export function text(field: string, rules: TextRules) {
  const min = rules.min ?? 0;
  const lines = rules.form === "lines";
  const control = new RegExp(lines ? "\\x00" : `[${CONTROL}]`);
  const padded = lines || rules.padded === true;
  const edge = new RegExp(`^[${SPACE}]|[${SPACE}]$`);
  const check = v.rawCheck<string>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const value = dataset.value;
    const length = codePoints(value);
    if (length < min) {
      addIssue({ message: min === 1 ? `${field} must not be empty` : `${field} is at least ${min} characters` });
    }
    if (length > rules.max) addIssue({ message: `${field} is at most ${rules.max} characters` });
    if (control.test(value)) {
      addIssue({ message: `${field} must not contain ${lines ? "NUL" : "control"} characters` });
    }
    if (!padded && edge.test(value)) addIssue({ message: `${field} must not begin or end with whitespace` });
  });
  const stated = { ...(min > 0 ? { minLength: min } : {}), maxLength: rules.max, pattern: textPattern(rules) };
  return v.pipe(v.string(), documented(check, stated));
}
