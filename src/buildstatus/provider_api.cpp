#include "buildstatus/provider_api.h"

#include <array>
#include <cctype>
#include <utility>

#include <nlohmann/json.hpp>

#include "util/string.h"

namespace kiln::buildstatus {
namespace {

using nlohmann::json;

struct ProviderName {
  Provider provider;
  const char* source_type;
};
constexpr std::array<ProviderName, 5> kProviders{{
    {Provider::kGitHub, "GITHUB"},
    {Provider::kGitHubEnterprise, "GITHUB_ENTERPRISE"},
    {Provider::kGitLab, "GITLAB"},
    {Provider::kGitLabSelfManaged, "GITLAB_SELF_MANAGED"},
    {Provider::kBitbucket, "BITBUCKET"},
}};

bool is_github(Provider p) {
  return p == Provider::kGitHub || p == Provider::kGitHubEnterprise;
}
bool is_gitlab(Provider p) {
  return p == Provider::kGitLab || p == Provider::kGitLabSelfManaged;
}

// "https://host/a/b.git" -> {"https", "host", "a/b"}; "git@host:a/b.git" -> {"https", ...}.
struct Location {
  std::string scheme;
  std::string host;  // with its port
  std::string path;
};

std::optional<Location> split_location(std::string_view loc) {
  Location out;
  if (const auto sep = loc.find("://"); sep != std::string_view::npos) {
    out.scheme = to_lower(loc.substr(0, sep));
    loc.remove_prefix(sep + 3);
    const auto slash = loc.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    out.host = std::string(loc.substr(0, slash));
    // user:password@ never reaches an API URL.
    if (const auto at = out.host.rfind('@'); at != std::string::npos) out.host.erase(0, at + 1);
    loc.remove_prefix(slash + 1);
    // ssh:// and git:// hosts serve their API over https (a port here is the ssh one: such a
    // host needs --status-api-url).
    if (out.scheme != "http" && out.scheme != "https") out.scheme = "https";
  } else if (const auto colon = loc.find(':'); colon != std::string_view::npos) {  // scp-like
    out.scheme = "https";
    out.host = std::string(loc.substr(0, colon));
    if (const auto at = out.host.rfind('@'); at != std::string::npos) out.host.erase(0, at + 1);
    loc.remove_prefix(colon + 1);
  } else {
    return std::nullopt;
  }
  std::string_view path = trim(loc, "/");
  if (path.ends_with(".git")) path.remove_suffix(4);
  out.path = std::string(trim(path, "/"));
  if (out.host.empty() || out.path.find('/') == std::string::npos) return std::nullopt;
  return out;
}

std::string default_base(Provider p, const Location& at) {
  switch (p) {
    case Provider::kGitHub: return "https://api.github.com";
    case Provider::kGitHubEnterprise: return at.scheme + "://" + at.host + "/api/v3";
    // GITLAB is gitlab.com whatever host the location names, as GITHUB is github.com: the
    // stored GITLAB token goes to no other host.
    case Provider::kGitLab: return "https://gitlab.com/api/v4";
    case Provider::kGitLabSelfManaged: return at.scheme + "://" + at.host + "/api/v4";
    case Provider::kBitbucket: return "https://api.bitbucket.org/2.0";
  }
  return {};
}

// The Authorization (or PRIVATE-TOKEN) header for the credential, as each host documents it.
Result<std::pair<std::string, std::string>> auth_header(Provider p, const Credential& c) {
  if (c.auth_type == "CODECONNECTIONS" || c.auth_type == "SECRETS_MANAGER")
    return fail(ErrorCode::kPermission, "a " + c.auth_type +
                                            " source credential cannot be sent to the " +
                                            source_type(p) + " API by Kiln");
  if (c.auth_type == "BASIC_AUTH")
    return std::pair{std::string("Authorization"),
                     "Basic " + base64_encode(c.username + ":" + c.token)};
  if (is_gitlab(p) && c.auth_type != "OAUTH")
    return std::pair{std::string("PRIVATE-TOKEN"), c.token};
  return std::pair{std::string("Authorization"), "Bearer " + c.token};
}

}  // namespace

std::optional<Provider> provider_of(std::string_view type) {
  for (const auto& [p, name] : kProviders)
    if (type == name) return p;
  return std::nullopt;
}

const char* source_type(Provider p) {
  for (const auto& [q, name] : kProviders)
    if (p == q) return name;
  return "";
}

std::optional<Outcome> outcome_of(std::string_view status) {
  if (status == "IN_PROGRESS") return Outcome::kStarted;
  if (status == "SUCCEEDED") return Outcome::kSucceeded;
  if (status == "FAILED" || status == "TIMED_OUT") return Outcome::kFailed;
  if (status == "FAULT") return Outcome::kFault;
  if (status == "STOPPED") return Outcome::kStopped;
  return std::nullopt;
}

const char* state_name(Provider p, Outcome o) {
  if (is_github(p)) {
    constexpr std::array<const char*, 5> kGitHub{"pending", "success", "failure", "error", "error"};
    return kGitHub.at(static_cast<std::size_t>(o));
  }
  if (is_gitlab(p)) {
    // "running", not "pending": GitLab's pending means waiting for a runner, and Kiln posts this
    // once the build is under way.
    constexpr std::array<const char*, 5> kGitLab{"running", "success", "failed", "failed",
                                                 "canceled"};
    return kGitLab.at(static_cast<std::size_t>(o));
  }
  constexpr std::array<const char*, 5> kBitbucket{"INPROGRESS", "SUCCESSFUL", "FAILED", "FAILED",
                                                  "STOPPED"};
  return kBitbucket.at(static_cast<std::size_t>(o));
}

Result<std::pair<std::string, std::string>> parse_api_override(std::string_view text) {
  const auto eq = text.find('=');
  const std::string what = "--status-api-url " + std::string(text);
  if (eq == std::string_view::npos)
    return fail(ErrorCode::kInvalidArgument, what + ": want PROVIDER=URL, e.g. GITHUB=https://...");
  const std::string type = to_upper(text.substr(0, eq));
  if (!provider_of(type))
    return fail(ErrorCode::kInvalidArgument,
                what +
                    ": PROVIDER must be GITHUB, GITHUB_ENTERPRISE, GITLAB, "
                    "GITLAB_SELF_MANAGED or BITBUCKET");
  std::string url(trim_right(text.substr(eq + 1), "/"));
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    return fail(ErrorCode::kInvalidArgument, what + ": URL must start with http:// or https://");
  return std::pair{type, url};
}

Result<Repo> repo_of(Provider p, std::string_view location, const ApiOverrides& overrides) {
  const auto at = split_location(location);
  if (!at)
    return fail(ErrorCode::kInvalidArgument,
                "cannot tell the repository from the source location " + std::string(location));
  Repo r;
  const auto o = overrides.find(source_type(p));
  r.api_base = o != overrides.end() ? o->second : default_base(p, *at);
  r.path = at->path;
  // The path becomes part of an API URL sent with the stored token: only plain names, so a
  // project's location cannot point the token at another endpoint (`..`, `?`, `%2F`).
  for (const auto& segment : split(r.path, '/')) {
    const bool plain = !segment.empty() && segment != "." && segment != ".." &&
                       segment.find_first_not_of(
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789-_.") == std::string::npos;
    if (!plain)
      return fail(
          ErrorCode::kInvalidArgument,
          "the source location's repository path is not plain names: " + std::string(location));
  }
  if (!is_gitlab(p)) {
    // GitHub and Bitbucket repositories are exactly owner/name.
    const auto parts = split(r.path, '/');
    if (parts.size() != 2)
      return fail(ErrorCode::kInvalidArgument,
                  "cannot tell owner/repository from the source location " + std::string(location));
  }
  r.web_url = at->scheme + "://" + at->host + "/" + at->path;
  return r;
}

bool is_commit(std::string_view v) {
  if (v.size() != 40) return false;
  for (const char c : v)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

Result<net::HttpRequest> status_request(Provider p, const Repo& repo, const Status& s,
                                        const Credential& credential) {
  auto auth = auth_header(p, credential);
  if (!auth) return fail(std::move(auth.error()));
  net::HttpRequest req;
  req.method = "POST";
  req.headers = {{"Content-Type", "application/json"}, {"User-Agent", "kiln-build-status"}};
  req.headers.push_back(std::move(*auth));
  // Each host refuses a slow client less than it refuses a stuck one: a status is small.
  req.timeout_ms = 15000;
  req.connect_timeout_ms = 5000;
  const std::string state = state_name(p, s.outcome);
  json body;
  if (is_github(p)) {
    req.url = repo.api_base + "/repos/" + repo.path + "/statuses/" + s.commit;
    req.headers.emplace_back("Accept", "application/vnd.github+json");
    req.headers.emplace_back("X-GitHub-Api-Version", "2022-11-28");
    body = {{"state", state}, {"context", s.context}, {"description", s.description}};
    if (!s.target_url.empty()) body["target_url"] = s.target_url;
  } else if (is_gitlab(p)) {
    req.url =
        repo.api_base + "/projects/" + percent_encode(repo.path, "-._~") + "/statuses/" + s.commit;
    body = {{"state", state}, {"name", s.context}, {"description", s.description}};
    if (!s.target_url.empty()) body["target_url"] = s.target_url;
  } else {
    req.url =
        repo.api_base + "/repositories/" + repo.path + "/commit/" + s.commit + "/statuses/build";
    // The key says which status a later post replaces: one per context, as on the other hosts.
    body = {{"key", s.context},
            {"state", state},
            {"name", s.context},
            {"description", s.description},
            {"url", s.target_url.empty() ? repo.web_url : s.target_url}};
  }
  req.body = body.dump();
  return req;
}

}  // namespace kiln::buildstatus
