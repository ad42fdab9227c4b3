// Percent-encoding (RFC 3986 style, upper-case hex), shared by SigV4's canonical URIs, S3 keys
// in URLs, git credential URLs and cache object names, which differ only in what they keep.
#pragma once

#include <string>
#include <string_view>

namespace kiln {

// Every byte outside [A-Za-z0-9] and the characters of `keep` becomes %XX.
std::string percent_encode(std::string_view text, std::string_view keep);

}  // namespace kiln
