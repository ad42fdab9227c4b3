// What Kiln POSTs to a git host's commit-status API (docs/webhooks.md "Build status"): pure
// functions from a build's source, commit, state and the stored source credential to one
// net::HttpRequest. No I/O here; buildstatus/reporter.h decides when to post and sends.
//
// The shapes, from the providers' own documentation:
// - GitHub / GitHub Enterprise: POST {api}/repos/{owner}/{repo}/statuses/{sha}
//   https://docs.github.com/en/rest/commits/statuses#create-a-commit-status
// - GitLab / GitLab self-managed: POST {api}/projects/{url-encoded path}/statuses/{sha}
//   https://docs.gitlab.com/ee/api/commits.html#set-the-pipeline-status-of-a-commit
// - Bitbucket Cloud: POST {api}/repositories/{workspace}/{slug}/commit/{sha}/statuses/build
//   https://developer.atlassian.com/cloud/bitbucket/rest/api-group-commit-statuses/
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_client.h"
#include "secrets/secret_store.h"
#include "util/error.h"

namespace kiln::buildstatus {

enum class Provider { kGitHub, kGitHubEnterprise, kGitLab, kGitLabSelfManaged, kBitbucket };

// From a source type (GITHUB, GITHUB_ENTERPRISE, GITLAB, GITLAB_SELF_MANAGED, BITBUCKET);
// nullopt for the others (CODECOMMIT, S3, ...), which have no status to report to.
std::optional<Provider> provider_of(std::string_view source_type);
// The source type again: the server type of the source credential used, and the key of an
// API override.
const char* source_type(Provider p);

// What happened to the build (or batch), as a provider's state.
enum class Outcome { kStarted, kSucceeded, kFailed, kFault, kStopped };
// From buildStatus / buildBatchStatus: IN_PROGRESS -> kStarted, TIMED_OUT -> kFailed; nullopt for
// anything else.
std::optional<Outcome> outcome_of(std::string_view status);
// The provider's word for it (the table in docs/webhooks.md "Build status").
const char* state_name(Provider p, Outcome o);

// Base URLs of the APIs by source type (GITHUB=http://127.0.0.1:9999), from
// `kiln server --status-api-url`; they replace the one derived from the source location.
using ApiOverrides = std::map<std::string, std::string>;
// "PROVIDER=URL" with PROVIDER a source type (any case) and URL http(s)://...; a trailing '/'
// is dropped. Errors name the flag.
Result<std::pair<std::string, std::string>> parse_api_override(std::string_view text);

// Where a repository's statuses go: the API base and the repository's path there
// ("owner/repo"; GitLab's may have subgroups).
struct Repo {
  std::string api_base;
  std::string path;
  std::string web_url;  // the repository's page: Bitbucket's `url` when the status has none
};
// From the source location (https://host/owner/repo(.git), or git@host:owner/repo.git).
Result<Repo> repo_of(Provider p, std::string_view location, const ApiOverrides& overrides);

struct Status {
  std::string commit;  // 40 hex
  Outcome outcome = Outcome::kStarted;
  std::string description;
  std::string context;     // never empty
  std::string target_url;  // "" = none (Bitbucket, which requires one, gets the repository's)
};

using Credential = secrets::SecretStore::SourceCredential;

// The request for one status. Fails (kPermission) for a credential whose token Kiln cannot send
// as is (CODECONNECTIONS, SECRETS_MANAGER: an ARN, not a token).
Result<net::HttpRequest> status_request(Provider p, const Repo& repo, const Status& s,
                                        const Credential& credential);

// A commit id: 40 hex digits (a branch or tag name is not).
bool is_commit(std::string_view v);

}  // namespace kiln::buildstatus
