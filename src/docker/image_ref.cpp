#include "docker/image_ref.h"

#include <algorithm>

namespace kiln::docker {
namespace {

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool word_char(char c) {
  return lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_';
}
bool hex_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// One path component: lower-case alphanumeric runs joined by ".", "_", "__" or any run of "-".
bool valid_component(std::string_view s) {
  if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  for (std::size_t i = 0; i < s.size();) {
    if (lower_alnum(s[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && !lower_alnum(s[j])) ++j;
    const std::string_view sep = s.substr(i, j - i);
    const bool dashes = std::all_of(sep.begin(), sep.end(), [](char c) { return c == '-'; });
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
    i = j;
  }
  return true;
}

bool valid_tag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !word_char(s.front())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return word_char(c) || c == '.' || c == '-'; });
}

// "algorithm:hex" with at least 32 hex digits (sha256 has 64).
bool valid_digest(std::string_view s) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || s.size() - colon - 1 < 32) return false;
  const std::string_view algo = s.substr(0, colon);
  const std::string_view hex = s.substr(colon + 1);
  return std::all_of(algo.begin(), algo.end(),
                     [](char c) {
                       return lower_alnum(c) || c == '+' || c == '.' || c == '_' || c == '-';
                     }) &&
         std::all_of(hex.begin(), hex.end(), hex_char);
}

// A first component is a registry host when it could not be a Docker Hub path: it has a dot or
// a port, or is "localhost" (Docker's rule; an upper-case letter also counts since 2023).
bool is_domain(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
         std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool valid_domain(std::string_view s) {
  const auto colon = s.rfind(':');
  const std::string_view host = s.substr(0, colon);
  if (colon != std::string_view::npos) {
    const std::string_view port = s.substr(colon + 1);
    if (port.empty() ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
  }
  return !host.empty() && host.front() != '-' && host.back() != '-' &&
         std::all_of(host.begin(), host.end(), [](char c) {
           return lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-';
         });
}

}  // namespace

std::string ImageRef::str() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<ImageRef> parse_image_ref(std::string_view text) {
  const auto bad = [text](const std::string& why) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid image reference '" + std::string(text) + "': " + why);
  };
  if (text.empty()) return bad("it is empty");
  ImageRef ref;
  std::string_view rest = text;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!valid_digest(ref.digest)) return bad("bad digest '" + ref.digest + "'");
  }
  // A tag's colon comes after the last slash; one before it is a registry port.
  const auto colon = rest.rfind(':');
  const auto slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!valid_tag(ref.tag)) return bad("bad tag '" + ref.tag + "'");
  }
  if (const auto first = rest.find('/');
      first != std::string_view::npos && is_domain(rest.substr(0, first))) {
    ref.domain = rest.substr(0, first);
    rest = rest.substr(first + 1);
    if (!valid_domain(ref.domain)) return bad("bad registry '" + ref.domain + "'");
  }
  if (rest.empty()) return bad("no repository name");
  for (std::size_t start = 0;;) {
    const auto end = rest.find('/', start);
    if (!valid_component(rest.substr(start, end - start)))
      return bad("the repository name must be lower-case letters, digits and . _ - separators");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  ref.path = rest;
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace kiln::docker
