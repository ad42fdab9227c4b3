// Reads one delivery of a git host's webhook into an Event (webhook/event.h): which provider sent
// it (by its event header), which §9.3 event it is, and the fields filters and variables use.
// The body is untrusted: a parse never throws, never recurses without bound, and a malformed body
// or a missing field is an Error naming the field, not a crash. Read the body only after
// webhook/signature.h has accepted it.
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include "util/error.h"
#include "webhook/event.h"

namespace kiln::webhook {

// The provider a delivery's headers name: X-GitHub-Event, X-Gitlab-Event or X-Event-Key.
// kInvalidArgument when there is none ("no X-GitHub-Event, X-Gitlab-Event or X-Event-Key header").
Result<Provider> detect_provider(const Headers& headers);

// The delivery as an Event. Errors: kInvalidArgument for a missing event header, kParse for a body
// that is not JSON or lacks a field the event needs ("pull_request.number: missing").
// A delivery of an event no filter can match (ping, create, delete, a deleted branch, an
// unknown action) is not an error: its Event has an empty `type` and says why in `ignored`.
Result<Event> parse_delivery(const Headers& headers, std::string_view body);

}  // namespace kiln::webhook
