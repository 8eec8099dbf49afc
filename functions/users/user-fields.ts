// The user's field rules: what a valid email and name are. One definition serves the HTTP bodies,
// the gRPC requests (validated again at the writer) and the domain.
import * as v from "valibot";
import { DisplayName } from "#shared/transport/fields.ts";

/** The longest address SMTP can carry (RFC 5321 path limit less the angle brackets). */
export const EMAIL_MAX = 254;

export const fields = {
  email: v.pipe(
    v.string(),
    v.trim(),
    v.maxLength(EMAIL_MAX, `email is at most ${EMAIL_MAX} characters`),
    v.email("email must be an address such as ada@example.com"),
  ),
  name: DisplayName,
};

/** A token subject (`sub`): 1 to 255 visible ASCII characters. */
export const Subject = v.pipe(
  v.string(),
  v.regex(/^[\x21-\x7e]{1,255}$/, "subject is 1 to 255 visible ASCII characters"),
);
