# schemathesis hooks for `npm test` and `npm run fuzz` (loaded through SCHEMATHESIS_HOOKS by
# scripts/fuzz/schemathesis.ts).
#
# A header value a link takes from a response body keeps the body's JSON type: the link from a
# command's answer to the follow-up read sets X-Min-Version from `$response.body#/version`, a
# number, and schemathesis 4.32.5 hands that number to `requests`, which refuses to send it
# ("Header part ... must be of type str or bytes") and the stateful step errors without a request.
# A header is text on the wire, so the value is sent as its decimal text, as a client would.
import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.headers:
        for name, value in list(case.headers.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                case.headers[name] = str(value)
