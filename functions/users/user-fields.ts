// The user's field rules: what a valid email and name are. One definition serves the HTTP bodies,
// the gRPC requests (validated again at the writer) and the domain.
import * as v from "valibot";
import { documented } from "#shared/transport/documented.ts";
import { DisplayName } from "#shared/transport/fields.ts";

/** The longest address SMTP can carry (RFC 5321 path limit less the angle brackets). */
export const EMAIL_MAX = 254;

/** RFC 5322's dot-atom: the characters a local part may hold unquoted, in dot-separated runs. */
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
/** A host name's label (RFC 1123): letters, digits and inner hyphens, at most 63 characters. */
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
/**
 * An address as mail is written: a dot-atom local part at a domain of two labels or more. Quoted
 * local parts, address literals and dotless hosts (`"a b"@x.io`, `a@[192.0.2.1]`, `a@localhost`)
 * are refused: RFC-valid, but not deliverable addresses users type.
 */
const ADDRESS = new RegExp(`^${ATOM}(?:\\.${ATOM})*@${LABEL}(?:\\.${LABEL})+$`);
/** The longest local part (before the @) SMTP carries. */
const LOCAL_MAX = 64;
const EMAIL_MESSAGE = "email must be an address such as ada@example.com";

export const fields = {
  // Stated in the document as format email (what it is) and its pattern (exactly what is accepted).
  email: v.pipe(
    v.string(),
    v.maxLength(EMAIL_MAX, `email is at most ${EMAIL_MAX} characters`),
    documented(v.regex(ADDRESS, EMAIL_MESSAGE), { format: "email" }),
    // Part of what format email means (RFC 5321's limit), which the pattern leaves to it.
    v.check(
      (address) => address.indexOf("@") <= LOCAL_MAX,
      `email's part before the @ is at most ${LOCAL_MAX} characters`,
    ),
  ),
  name: DisplayName,
};

/** A token subject (`sub`): 1 to 255 visible ASCII characters. */
export const Subject = v.pipe(
  v.string(),
  v.regex(/^[\x21-\x7e]{1,255}$/, "subject is 1 to 255 visible ASCII characters"),
);
