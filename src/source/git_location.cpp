// Where a git source points, and what kind of source that makes it: the parts of the source
// layer that the API checks before a build is queued (--source-root), kept apart from the
// fetchers so that what links the API (the fuzz target among them) need not link git and S3.
#include <algorithm>
#include <cctype>

#include "source/fetcher.h"
#include "source/git_source.h"

namespace kiln::source {

bool is_scp_like(std::string_view url) {
  const std::size_t colon = url.find(':');
  return colon != std::string_view::npos && colon < url.find('/');
}

bool SourceSpec::is_git() const {
  return type == "GIT" || type == "GITHUB" || type == "GITHUB_ENTERPRISE" || type == "GITLAB" ||
         type == "GITLAB_SELF_MANAGED" || type == "BITBUCKET" || type == "CODECOMMIT";
}

GitLocation classify_git_location(std::string_view url) {
  using Kind = GitLocation::Kind;
  const auto refused = [](std::string why) {
    return GitLocation{Kind::kRefused, "", std::move(why)};
  };
  if (url.empty()) return refused("is empty");
  if (url.front() == '-') return refused("starts with '-' (git would read it as an option)");
  if (url.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos)
    return refused("contains a control character");
  // transport_get(): `<helper>::<address>` runs git-remote-<helper>, whatever the address.
  const std::size_t helper_end = url.find("::");
  if (helper_end != std::string_view::npos && helper_end > 0 &&
      std::all_of(
          url.begin(), url.begin() + static_cast<std::ptrdiff_t>(helper_end),
          [](unsigned char c) { return std::isalnum(c) != 0 || c == '+' || c == '-' || c == '.'; }))
    return refused("uses the " + std::string(url.substr(0, helper_end)) + ":: remote helper");
  if (url.starts_with("file://")) return {Kind::kLocal, std::string(url.substr(7)), ""};
  if (const auto scheme = url.find("://");
      scheme != std::string_view::npos && scheme < url.find('/')) {
    const std::string_view name = url.substr(0, scheme);
    for (std::string_view ok : {"https", "http", "git", "ssh", "git+ssh", "ssh+git"}) {
      if (name != ok) continue;
      if (url.substr(scheme + 3).starts_with("-") ||
          url.substr(scheme + 3).find("@-") < url.substr(scheme + 3).find('/'))
        return refused("names a host starting with '-'");
      return {Kind::kRemote, "", ""};
    }
    return refused("uses the " + std::string(name) + ":// transport, which Kiln does not allow");
  }
  if (is_scp_like(url)) {
    const std::string_view host = url.substr(url.find('@') < url.find(':') ? url.find('@') + 1 : 0);
    if (host.starts_with("-")) return refused("names a host starting with '-'");
    return {Kind::kRemote, "", ""};
  }
  return {Kind::kLocal, std::string(url), ""};
}

bool looks_like_git_url(std::string_view location) {
  for (std::string_view scheme : {"https://", "http://", "git://", "ssh://", "file://"}) {
    if (location.starts_with(scheme)) return true;
  }
  std::string_view trimmed = location;
  while (trimmed.ends_with("/")) trimmed.remove_suffix(1);
  if (trimmed.ends_with(".git")) return true;
  // scp-like `user@host:path`: an '@' and then a ':' before any '/'.
  const std::size_t at = location.find('@');
  return at != std::string_view::npos && at > 0 && location.find('/') > at &&
         is_scp_like(location.substr(at + 1));
}

}  // namespace kiln::source
