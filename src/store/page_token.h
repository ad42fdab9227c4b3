// Page tokens (nextToken) of the store's listings.
//
// A token is opaque to clients: base64url of the listing it was made for followed by the sort
// key of the last item of its page (keyset pagination, so a token stays meaningful while builds
// are added or deleted). Each field is typed and length-prefixed, so any bytes round-trip. The
// key is only ever bound as an SQL parameter, never spliced into SQL.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/error.h"

namespace kiln::store {

using KeyPart = std::variant<std::int64_t, double, std::string>;
using PageKey = std::vector<KeyPart>;

// `listing` names the listing and everything that shapes it: kind, sort, order, project.
std::string make_page_token(const std::string& listing, const PageKey& last_key);

// The last key of `token`. kInvalidArgument "invalid nextToken" if the token is malformed, was
// made for another listing, or its key does not have `shape`: one letter per part, 'i' int64,
// 'd' double, 's' string.
Result<PageKey> read_page_token(const std::string& token, const std::string& listing,
                                std::string_view shape);

}  // namespace kiln::store
