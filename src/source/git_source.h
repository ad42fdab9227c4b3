// Clones a git repository for a build's DOWNLOAD_SOURCE phase (GITHUB, GITLAB, BITBUCKET,
// CODECOMMIT, GITHUB_ENTERPRISE, GITLAB_SELF_MANAGED and plain git URLs), by running the `git`
// program: it is what CodeBuild's images use, and it speaks every transport and credential
// protocol users rely on.
//
// `version` is CodeBuild's sourceVersion: "" (the default branch), a branch, a tag, a commit
// (full or abbreviated, at least 7 hex digits), `pr/N` (GitHub's refs/pull/N/head, also
// GitLab's refs/merge-requests/N/head), or a full ref `refs/...`. `depth` > 0 makes a shallow
// clone (gitCloneDepth); a commit that is not the tip of a ref is fetched by id, and when the
// server refuses that the clone falls back to a full fetch before giving up.
//
// Credentials: an HTTPS token (a source credential) is given to git by a credential helper
// that reads it from an inherited environment variable, so it never appears in a command line,
// a URL, a file in the workspace or the log. Git's own prompts are disabled: a missing
// credential fails at once instead of hanging the build.
//
// With `mirror_dir` (LOCAL_SOURCE_CACHE) a bare mirror of the repository is kept there between
// builds: each build fetches only what is new into the mirror, then clones from it locally and
// points `origin` at the real URL. The caller serialises builds that share a mirror.
//
// Errors carry CodeBuild's phase-context wording, without the "for primary source ..." suffix
// the engine adds: "repository not found", "authentication required", "reference not found",
// or git's own last line for anything else (code kNotFound, kPermission, kNotFound, kProcess).
// Cancellation is kCancelled "cancelled", running out of time kTimeout "timed out after
// <timeout_ms> ms". On any failure `dest` is removed (only emptied if it existed), so a build
// never runs on a partial clone.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "exec/executor.h"
#include "util/error.h"

namespace kiln::source {

struct GitCloneRequest {
  std::string url;             // https://, http://, git://, ssh://, file:// or a local path
  std::string version;         // see above
  int depth = 0;               // 0 = full history
  bool submodules = false;     // gitSubmodulesConfig.fetchSubmodules (recursive, same depth)
  std::filesystem::path dest;  // created; must not exist or be empty
  std::optional<std::filesystem::path> mirror_dir;  // LOCAL_SOURCE_CACHE
  std::string https_username;                       // with https_token; "" = "x-access-token"
  std::string https_token;                          // "" = no credential
  bool insecure_ssl = false;                        // insecureSsl: http.sslVerify=false
  long timeout_ms = 30L * 60 * 1000;  // for the whole clone, every git command together
  std::string git_program = "/usr/bin/git";
  // Progress lines for the build log ("Cloning <url>", "Checked out <commit>", mirror hits).
  // Never contains the token. May be empty.
  std::function<void(std::string_view)> log;
};

struct GitCloneResult {
  std::string commit;        // 40 hex digits: CODEBUILD_RESOLVED_SOURCE_VERSION
  std::string branch;        // the branch checked out, "" when detached (tag, commit, pr/N)
  bool mirror_used = false;  // a mirror from an earlier build was reused
};

// Runs git with a clean environment (HOME set to a scratch folder beside `dest`, removed
// afterwards; no system or global config; GIT_TERMINAL_PROMPT=0), killing it and everything it
// started when `cancel` fires or `timeout_ms` passes. Blocks; `cancel` may fire from any thread.
// Builds sharing a `mirror_dir` must not run git_clone at the same time.
[[nodiscard]] Result<GitCloneResult> git_clone(const GitCloneRequest& req,
                                               const exec::CancelToken& cancel);

// True for a URL or path this module can clone (used to tell `kiln run -s URL` from a folder).
bool looks_like_git_url(std::string_view location);

// git's own rule: a colon before the first slash makes `host:path` an ssh address.
bool is_scp_like(std::string_view url);

// What git would read for a clone URL, following git's own rules (git-clone(1) "GIT URLS"):
//  - kRemote: http(s)://, git://, ssh:// (also git+ssh://, ssh+git://) and scp-like
//    `[user@]host:path` (a ':' before any '/');
//  - kLocal: file:// URLs and paths (absolute or relative, `.git` or not), which git opens on
//    this machine; `path` is what git opens (file:// removed);
//  - kRefused: anything git would hand to a remote helper or read as an option: `<helper>::`
//    addresses (ext::, fd::, ...), other schemes, a leading '-' (`--upload-pack=...`), a NUL or
//    a line break, or a remote host starting with '-'.
// The server treats kLocal like a LOCAL source, under --source-root (docs/sources.md), and
// refuses kRefused; git_clone() also lets git use only the transports of kRemote and kLocal.
struct GitLocation {
  enum class Kind { kRemote, kLocal, kRefused };
  Kind kind = Kind::kRefused;
  std::string path;    // kLocal
  std::string reason;  // kRefused: "uses the ext:: remote helper", ...
};
GitLocation classify_git_location(std::string_view url);

}  // namespace kiln::source
