#include "source/git_source.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <system_error>

#include "source/git_run.h"

namespace kiln::source {
namespace {

namespace fs = std::filesystem;

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
}

bool is_commit_id(std::string_view s) {
  return s.size() >= 7 && s.size() <= 40 && is_hex(s);
}

bool is_local(std::string_view url) {
  return url.starts_with("file://") ||
         (url.find("://") == std::string_view::npos && !is_scp_like(url));
}

// CodeBuild's "reference and commit" form, `refs/heads/main^{<full sha>}`: {ref, sha}, or
// {version, ""} for every other form.
std::pair<std::string, std::string> split_pinned(const std::string& version) {
  const auto open = version.rfind("^{");
  if (open != std::string::npos && version.size() == open + 43 && version.back() == '}' &&
      is_hex(std::string_view(version).substr(open + 2, 40)))
    return {version.substr(0, open), version.substr(open + 2, 40)};
  return {version, ""};
}

// Names that git would read as an option, or that cannot be a ref, are refused before any git
// runs: the version comes from the API caller.
Result<void> check_request(const GitCloneRequest& req) {
  if (const auto where = classify_git_location(req.url);
      where.kind == GitLocation::Kind::kRefused) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid git URL \"" + strip_userinfo(req.url) + "\": it " + where.reason);
  }
  const std::string v = split_pinned(req.version).first;
  const bool bad_char = std::any_of(v.begin(), v.end(), [](unsigned char c) {
    return c <= ' ' || c == 0x7f ||
           std::string_view("~^:?*[\\").find(static_cast<char>(c)) != std::string_view::npos;
  });
  if (v.starts_with("-") || v.starts_with("/") || v.ends_with("/") || v.ends_with(".lock") ||
      v.find("..") != std::string::npos || v.find("//") != std::string::npos ||
      v.find("@{") != std::string::npos || bad_char) {
    return fail(ErrorCode::kInvalidArgument, "invalid source version \"" + v + "\"");
  }
  if (req.depth < 0) return fail(ErrorCode::kInvalidArgument, "negative clone depth");
  if (req.https_token.find_first_of("\r\n") != std::string::npos ||
      req.https_username.find_first_of("\r\n") != std::string::npos) {
    return fail(ErrorCode::kInvalidArgument, "the git credential contains a line break");
  }
  return {};
}

// What to fetch for a version, decided from the remote's refs.
struct Target {
  enum class Kind { kBranch, kRef, kCommit };
  Kind kind = Kind::kRef;
  std::string remote_ref;  // kBranch, kRef: the ref on the remote
  std::string local_ref;   // kBranch, kRef: where the fetch stores it
  std::string branch;      // kBranch
  std::string commit;      // kCommit: full or abbreviated id
};

struct RemoteRefs {
  std::map<std::string, std::string> refs;  // name -> commit (peeled entries dropped)
  std::string head_target;                  // "refs/heads/main" from `--symref`
};

RemoteRefs parse_ls_remote(const std::string& text) {
  RemoteRefs out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos) continue;  // a warning on stderr
    const std::string_view left = line.substr(0, tab);
    const std::string_view name = line.substr(tab + 1);
    if (left.starts_with("ref: ") && name == "HEAD") {
      out.head_target = std::string(left.substr(5));
    } else if (left.size() == 40 && is_hex(left) && !name.ends_with("^{}")) {
      out.refs.emplace(name, left);
    }
  }
  return out;
}

Target branch_target(const std::string& name) {
  return {Target::Kind::kBranch, "refs/heads/" + name, "refs/remotes/origin/" + name, name, ""};
}

// Removes what a failed clone made in `dir`: the folder itself, or only its contents when it
// was there (empty) before.
void discard(const fs::path& dir, bool keep_dir) {
  std::error_code ec;
  if (!keep_dir) {
    fs::remove_all(dir, ec);
    return;
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove_all(entry, ec);
}

Error ref_not_found() {
  return Error(ErrorCode::kNotFound, "reference not found");
}

class Cloner {
 public:
  Cloner(const GitCloneRequest& req, GitSession& git) : req_(req), git_(git) {}

  void log(const std::string& line) const {
    if (req_.log) req_.log(git_.mask(line));
  }

  // Runs git and turns a non-zero exit into the classified Error.
  Result<GitOutput> git(const fs::path& dir, const std::vector<std::string>& args,
                        const std::vector<std::string>& extra = {}) {
    auto out = git_.run(dir, args, extra);
    if (!out) return fail(std::move(out.error()));
    if (!out->ok()) return fail(classify_git_failure(*out, git_));
    return out;
  }

  Result<bool> update_mirror(const fs::path& mirror, const std::string& url);
  Result<GitCloneResult> checkout(const fs::path& dest, const std::string& fetch_url,
                                  const std::string& origin_url);

 private:
  Result<Target> resolve(const fs::path& dest, const std::string& v);
  Result<void> fetch_commit(const fs::path& dest, const std::string& commit);
  std::vector<std::string> depth_args() const {
    if (req_.depth <= 0) return {};
    return {"--depth", std::to_string(req_.depth)};
  }

  const GitCloneRequest& req_;
  GitSession& git_;
};

// Keeps the mirror a full copy of every ref of the remote; only what is new travels. Returns
// whether the mirror was there before.
Result<bool> Cloner::update_mirror(const fs::path& mirror, const std::string& url) {
  std::error_code ec;
  const bool existed =
      fs::is_regular_file(mirror / "HEAD", ec) && fs::is_directory(mirror / "objects", ec);
  bool had_dir = true;
  if (existed) {
    log("Source cache hit: fetching changes into " + mirror.string());
    if (auto r = git(mirror, {"remote", "set-url", "origin", url}); !r) return fail(r.error());
  } else {
    log("Source cache miss: creating " + mirror.string());
    had_dir = fs::exists(mirror, ec);
    if (had_dir && !fs::is_empty(mirror, ec)) {
      return fail(ErrorCode::kInvalidArgument,
                  "source cache " + mirror.string() + " is neither empty nor a git mirror");
    }
    fs::create_directories(mirror, ec);
    if (ec) return fail(ErrorCode::kIo, "create " + mirror.string() + ": " + ec.message());
    auto made = git(mirror, {"init", "--bare", "-q"}, {"init.defaultBranch=main"});
    if (made) made = git(mirror, {"remote", "add", "--mirror=fetch", "origin", url});
    if (!made) {
      discard(mirror, had_dir);
      return fail(made.error());
    }
  }
  auto fetched = git(mirror, {"fetch", "--prune", "--quiet", "origin"});
  // The default branch is only needed, and only asked for, when the build names no version.
  if (fetched && req_.version.empty()) {
    auto head = git(mirror, {"ls-remote", "--symref", "origin", "HEAD"});
    if (!head) {
      fetched = fail(head.error());
    } else if (auto target = parse_ls_remote(head->output).head_target; !target.empty()) {
      fetched = git(mirror, {"symbolic-ref", "HEAD", target});
    }
  }
  if (!fetched) {
    // A first fetch that failed leaves nothing worth keeping.
    if (!existed) discard(mirror, had_dir);
    return fail(fetched.error());
  }
  return existed;
}

Result<Target> Cloner::resolve(const fs::path& dest, const std::string& v) {
  const bool pull_request =
      v.starts_with("pr/") && v.size() > 3 &&
      std::all_of(v.begin() + 3, v.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  std::vector<std::string> args = {"ls-remote"};
  if (v.empty()) {
    args.insert(args.end(), {"--symref", "origin", "HEAD"});
  } else if (pull_request) {
    const std::string n = v.substr(3);
    args.insert(args.end(),
                {"origin", "refs/pull/" + n + "/head", "refs/merge-requests/" + n + "/head"});
  } else if (v.starts_with("refs/")) {
    args.insert(args.end(), {"origin", v});
  } else {
    args.insert(args.end(), {"origin", "refs/heads/" + v, "refs/tags/" + v});
  }
  auto listed = git(dest, args);
  if (!listed) return fail(listed.error());
  const RemoteRefs remote = parse_ls_remote(listed->output);
  auto has = [&](const std::string& ref) { return remote.refs.count(ref) != 0; };

  if (v.empty()) {
    if (remote.head_target.starts_with("refs/heads/"))
      return branch_target(remote.head_target.substr(11));
    if (has("HEAD")) return Target{Target::Kind::kRef, "HEAD", "refs/kiln/head", "", ""};
    return fail(ref_not_found());  // an empty repository
  }
  if (pull_request) {
    for (const auto& ref : {args[2], args[3]}) {
      if (has(ref)) return Target{Target::Kind::kRef, ref, "refs/remotes/origin/" + v, "", ""};
    }
    return fail(ref_not_found());
  }
  if (v.starts_with("refs/")) {
    if (!has(v)) return fail(ref_not_found());
    if (v.starts_with("refs/heads/")) return branch_target(v.substr(11));
    return Target{Target::Kind::kRef, v, v, "", ""};
  }
  if (has("refs/heads/" + v)) return branch_target(v);
  if (has("refs/tags/" + v))
    return Target{Target::Kind::kRef, "refs/tags/" + v, "refs/tags/" + v, "", ""};
  if (is_commit_id(v)) return Target{Target::Kind::kCommit, "", "", "", v};
  return fail(ref_not_found());
}

// A commit by id: a shallow fetch of just that commit when the server allows it
// (uploadpack.allowReachableSHA1InWant, GitHub, protocol v2 servers); otherwise, and for
// abbreviated ids, every branch and tag with full history, then the id is looked up locally.
Result<void> Cloner::fetch_commit(const fs::path& dest, const std::string& commit) {
  if (commit.size() == 40 && req_.depth > 0) {
    std::vector<std::string> args = {"fetch", "--quiet"};
    auto depth = depth_args();
    args.insert(args.end(), depth.begin(), depth.end());
    args.insert(args.end(), {"origin", commit});
    auto out = git_.run(dest, args);
    if (!out) return fail(std::move(out.error()));
    if (out->ok()) return {};
    // A refusal reads "not our ref" or "does not allow request for unadvertised object"; only
    // a missing repository or credential is final.
    const GitFailure why = kind_of_failure(*out);
    if (why == GitFailure::kRepository || why == GitFailure::kAuthentication)
      return fail(classify_git_failure(*out, git_));
  }
  auto full = git(dest, {"fetch", "--quiet", "origin", "+refs/heads/*:refs/remotes/origin/*",
                         "+refs/tags/*:refs/tags/*"});
  if (!full) return fail(full.error());
  return {};
}

Result<GitCloneResult> Cloner::checkout(const fs::path& dest, const std::string& fetch_url,
                                        const std::string& origin_url) {
  if (auto r = git(dest, {"init", "-q"}, {"init.defaultBranch=main"}); !r) return fail(r.error());
  if (auto r = git(dest, {"remote", "add", "origin", fetch_url}); !r) return fail(r.error());
  // With a pinned commit only that ref is fetched (with its history, whatever the depth) and
  // the commit is checked out from it.
  const auto [version, pinned] = split_pinned(req_.version);
  auto target = resolve(dest, version);
  if (!target) return fail(target.error());

  GitCloneResult result;
  std::string shown = req_.version;
  if (target->kind == Target::Kind::kCommit) {
    if (auto r = fetch_commit(dest, target->commit); !r) return fail(r.error());
    auto full = git_.run(dest, {"rev-parse", "--verify", "--quiet", target->commit + "^{commit}"});
    if (!full) return fail(std::move(full.error()));
    if (!full->ok()) return fail(ref_not_found());
    std::string id = full->output.substr(0, full->output.find('\n'));
    if (auto r = git(dest, {"checkout", "-q", "--detach", id}); !r) return fail(r.error());
  } else {
    std::vector<std::string> args = {"fetch", "--quiet"};
    auto depth = pinned.empty() ? depth_args() : std::vector<std::string>{};
    args.insert(args.end(), depth.begin(), depth.end());
    args.insert(args.end(), {"origin", "+" + target->remote_ref + ":" + target->local_ref});
    if (auto r = git(dest, args); !r) return fail(r.error());
    std::string at = target->local_ref;
    if (!pinned.empty()) {
      auto in_ref = git_.run(dest, {"merge-base", "--is-ancestor", pinned, target->local_ref});
      if (!in_ref) return fail(std::move(in_ref.error()));
      if (!in_ref->ok()) return fail(ref_not_found());
      at = pinned;
    }
    // On the branch, as CodeBuild leaves it (`git branch --show-current` works); anything else
    // is detached at the commit (a tag is peeled).
    auto r = target->kind == Target::Kind::kBranch
                 ? git(dest, {"checkout", "-q", "-B", target->branch, at})
                 : git(dest, {"checkout", "-q", "--detach", at});
    if (!r) return fail(r.error());
    result.branch = target->branch;
    if (shown.empty()) shown = target->branch.empty() ? "HEAD" : target->branch;
  }
  if (fetch_url != origin_url) {
    if (auto r = git(dest, {"remote", "set-url", "origin", origin_url}); !r) return fail(r.error());
  }
  auto head = git(dest, {"rev-parse", "HEAD"});
  if (!head) return fail(head.error());
  result.commit = head->output.substr(0, head->output.find('\n'));
  if (req_.submodules) {
    std::vector<std::string> args = {"submodule", "--quiet", "update", "--init", "--recursive"};
    auto depth = depth_args();
    args.insert(args.end(), depth.begin(), depth.end());
    // git >= 2.38.1 refuses file:// submodules (CVE-2022-39253: a repository could make a
    // clone copy local files through a crafted submodule). A repository that is itself on this
    // machine already gives its submodules that reach, so only then are they allowed.
    std::vector<std::string> config;
    if (is_local(req_.url)) config.emplace_back("protocol.file.allow=always");
    if (auto r = git(dest, args, config); !r) return fail(r.error());
  }
  log("Checked out " + result.commit + " (" + shown + ")");
  return result;
}

Result<GitCloneResult> clone(const GitCloneRequest& req, const exec::CancelToken& cancel) {
  std::error_code ec;
  const fs::path dest = fs::absolute(req.dest, ec);
  if (ec) return fail(ErrorCode::kIo, "resolve " + req.dest.string() + ": " + ec.message());
  fs::create_directories(dest, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + dest.string() + ": " + ec.message());
  auto home = ScratchDir::create(dest.parent_path() / ".kiln-git-home-XXXXXX");
  if (!home) return fail(home.error());

  // A password in an https URL is moved to the credential helper, like a source credential:
  // it must not reach git's command line or the clone's .git/config.
  GitSession::Options options;
  options.git_program = req.git_program;
  options.home = home->path();
  options.username = req.https_username;
  options.token = req.https_token;
  if (auto [user, password] = http_userinfo(req.url); options.token.empty() && !password.empty()) {
    options.username = user;
    options.token = password;
  }
  if (options.username.empty()) options.username = "x-access-token";
  const std::string url = http_origin(req.url).empty() ? req.url : strip_userinfo(req.url);
  options.credential_url = http_origin(url);
  options.insecure_ssl = req.insecure_ssl;
  options.timeout_ms = req.timeout_ms;
  GitSession session(std::move(options), cancel);
  Cloner cloner(req, session);

  cloner.log("Cloning " + strip_userinfo(req.url));
  bool mirror_used = false;
  std::string fetch_url = url;
  if (req.mirror_dir) {
    const fs::path mirror = fs::absolute(*req.mirror_dir, ec);
    auto existed = cloner.update_mirror(mirror, url);
    if (!existed) return fail(existed.error());
    mirror_used = *existed;
    // file:// rather than a path: git only makes shallow fetches through the transport.
    fetch_url = "file://" + mirror.string();
  }
  auto result = cloner.checkout(dest, fetch_url, url);
  if (!result) return fail(result.error());
  result->mirror_used = mirror_used;
  return result;
}

}  // namespace

Result<GitCloneResult> git_clone(const GitCloneRequest& req, const exec::CancelToken& cancel) {
  if (auto ok = check_request(req); !ok) return fail(ok.error());
  std::error_code ec;
  const bool existed = fs::exists(req.dest, ec);
  if (existed && !fs::is_empty(req.dest, ec)) {
    return fail(ErrorCode::kAlreadyExists, "clone destination is not empty: " + req.dest.string());
  }
  auto result = clone(req, cancel);
  if (!result) {
    // A build never runs on a partial clone: what was made is removed.
    discard(req.dest, existed);
  }
  return result;
}

}  // namespace kiln::source
