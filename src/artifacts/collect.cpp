#include "artifacts/collect.h"

#include <sys/stat.h>
#include <algorithm>
#include <cerrno>

#include "artifacts/env_tree.h"
#include "artifacts/glob.h"
#include "artifacts/tree_walk.h"
#include "util/files.h"
#include "util/rooted_path.h"

namespace kiln::artifacts {

namespace {

Collected client_error(std::string message) {
  Collected c;
  c.failure = UploadFailure{"CLIENT_ERROR", std::move(message)};
  return c;
}

// One directory the `files` patterns are matched in.
struct Base {
  std::string shown;     // as logged: "my-build-1", ".", "/codebuild/output/src1/src/s3/01"
  std::string resolved;  // relative to the root, symlink-free
};

struct BaseSet {
  std::filesystem::path root;  // canonical
  std::vector<Base> bases;
  std::optional<UploadFailure> failure;
};

std::string strip_trailing_slashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// Copies the folder `abs` of the build's environment into a fresh folder under ctx.staging;
// nullopt when the environment has no folder there.
Result<std::optional<std::filesystem::path>> stage_folder(const CollectContext& ctx,
                                                          const std::string& abs) {
  auto root = (*ctx.environment_root)();
  if (!root) return fail(std::move(root.error()).with("while opening the build's environment"));
  auto suffix = random_suffix();
  if (!suffix) return fail(std::move(suffix.error()));
  if (::mkdir(ctx.staging.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(errno_error(ErrorCode::kIo, "create " + ctx.staging.string()));
  const std::filesystem::path dest = ctx.staging / ("env-" + *suffix);
  auto copied = copy_out(root->get(), abs, dest);
  if (!copied) {
    if (copied.error().code() == ErrorCode::kNotFound) return std::nullopt;
    return fail(
        std::move(copied.error()).with("while copying " + abs + " from the build's environment"));
  }
  return dest;
}

// Refuses what would copy the environment's whole file system.
std::optional<std::string> whole_root(const std::string& key, const std::string& value,
                                      const std::string& prefix) {
  if (prefix != "/") return std::nullopt;
  return key + ": " + value + " names the whole file system; name a folder below /";
}

// Resolves base-directory (already expanded; "." when absent) to the directories it names.
Result<BaseSet> resolve_bases(const std::string& base, const CollectContext& ctx) {
  BaseSet set;
  const std::string no_match = "no matching base directory path found for " + base;
  std::filesystem::path root_host = ctx.src_dir;
  std::string rel = base;
  std::string shown_prefix;  // a copied folder of the environment, as the build names it
  if (!base.empty() && base.front() == '/') {
    // Only an absolute path into one of the build's source trees is allowed; it is matched by
    // the spelling the build uses and mapped to where that tree is on this host.
    std::vector<SourceRoot> roots = ctx.source_roots;
    if (roots.empty()) roots.push_back(SourceRoot{ctx.src_dir.string(), ctx.src_dir});
    const std::string wanted = std::filesystem::path(base).lexically_normal().string();
    bool found = false;
    for (const SourceRoot& r : roots) {
      const std::string prefix =
          strip_trailing_slashes(std::filesystem::path(r.build_path).lexically_normal().string());
      if (wanted == prefix || wanted.rfind(prefix + "/", 0) == 0) {
        root_host = r.host_path;
        rel = wanted.size() > prefix.size() ? wanted.substr(prefix.size() + 1) : "";
        found = true;
        break;
      }
    }
    if (!found && ctx.environment_root == nullptr) {
      set.failure = UploadFailure{"CLIENT_ERROR",
                                  "base-directory is outside the source directories: " + base};
      return set;
    }
    if (!found) {
      auto [prefix, rest] = split_at_wildcard(wanted);
      if (auto why = whole_root("base-directory", base, prefix)) {
        set.failure = UploadFailure{"CLIENT_ERROR", *why};
        return set;
      }
      auto staged = stage_folder(ctx, prefix);
      if (!staged) return fail(std::move(staged.error()));
      if (!*staged) {
        set.failure = UploadFailure{"CLIENT_ERROR", no_match};
        return set;
      }
      root_host = **staged;
      rel = rest;
      shown_prefix = prefix;
    }
  }
  auto root = RootedPath::resolve(root_host, "");
  if (!root) return fail(std::move(root.error()).with("while resolving the source directory"));
  set.root = root->root();
  if (rel.empty()) rel = ".";

  auto glob = Glob::compile(rel);
  if (!glob) {
    set.failure = UploadFailure{"CLIENT_ERROR", "base-directory: " + glob.error().message()};
    return set;
  }
  if (glob->has_wildcard()) {
    auto dirs = match_directories(set.root, *glob);
    if (!dirs) return fail(std::move(dirs.error()));
    for (DirMatch& d : *dirs) {
      std::string shown = shown_prefix.empty() ? std::move(d.shown) : shown_prefix + "/" + d.shown;
      set.bases.push_back(Base{std::move(shown), std::move(d.resolved)});
    }
  } else {
    auto dir = RootedPath::resolve(set.root, rel);
    if (!dir) {
      if (dir.error().code() == ErrorCode::kPathEscape) {
        set.failure = UploadFailure{"CLIENT_ERROR", "base-directory: " + dir.error().message()};
        return set;
      }
      if (dir.error().code() != ErrorCode::kNotFound) return fail(std::move(dir.error()));
    } else {
      struct stat st;
      if (::stat(dir->absolute().c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        set.bases.push_back(Base{base, dir->relative()});
      }
    }
  }
  if (set.bases.empty()) set.failure = UploadFailure{"CLIENT_ERROR", no_match};
  return set;
}

struct Candidate {
  std::string archive_path;
  std::string shown;  // base-relative path as matched, for the duplicate note
  const WalkHit* hit;
  std::filesystem::path root;  // Entry::root
};

// An absolute `files` entry, matched in a copy of its folder.
struct AbsoluteMatch {
  std::string prefix;          // the copied folder, as the build names it
  std::filesystem::path root;  // the copy; empty when the environment has no such folder
  WalkResult walk;
};

Result<AbsoluteMatch> match_absolute(const std::string& pattern, const CollectContext& ctx,
                                     bool keep_symlinks, std::optional<UploadFailure>& failure) {
  AbsoluteMatch m;
  auto [prefix, rest] = split_at_wildcard(pattern);
  if (rest.empty() && prefix != "/") {
    // A literal path: a folder selects its subtree, anything else is matched in its parent.
    auto staged = stage_folder(ctx, prefix);
    if (!staged) return fail(std::move(staged.error()));
    if (*staged) {
      m.root = **staged;
    } else {
      const std::filesystem::path p(prefix);
      rest = p.filename().string();
      prefix = p.parent_path().string();
    }
  }
  if (auto why = whole_root("files", pattern, prefix)) {
    failure = UploadFailure{"CLIENT_ERROR", *why};
    return m;
  }
  m.prefix = prefix;
  if (m.root.empty()) {
    auto staged = stage_folder(ctx, prefix);
    if (!staged) return fail(std::move(staged.error()));
    if (!*staged) return m;
    m.root = **staged;
  }
  Glob::Options subtree;
  subtree.literal_selects_subtree = true;
  auto glob = Glob::compile(rest.empty() ? "**/*" : rest, subtree);
  if (!glob) {
    failure = UploadFailure{"CLIENT_ERROR", "files: " + glob.error().message()};
    return m;
  }
  const std::vector<Glob> include{std::move(*glob)};
  const std::vector<Glob> exclude;
  WalkSpec ws{m.root, "", &include, &exclude, keep_symlinks, std::nullopt};
  auto walk = walk_tree(ws);
  if (!walk) return fail(std::move(walk.error()).with("while collecting " + pattern));
  m.walk = std::move(*walk);
  return m;
}

bool is_absolute(const std::string& pattern) {
  return !pattern.empty() && pattern.front() == '/';
}

}  // namespace

Result<int> RootFds::get(const FileList& files, const Entry& e) {
  const std::filesystem::path& root = e.root.empty() ? files.root : e.root;
  auto it = fds_.find(root);
  if (it == fds_.end()) {
    auto fd = open_directory(root);
    if (!fd) return fail(std::move(fd.error()));
    it = fds_.emplace(root, std::move(*fd)).first;
  }
  return it->second.get();
}

Result<std::string> expand_if_needed(const Expander* expand, const std::string& value) {
  if (expand == nullptr || !*expand) return value;
  if (value.find_first_of("$`") == std::string::npos) return value;
  return (*expand)(value);
}

Result<Collected> collect(const spec::ArtifactSpec& spec, const CollectContext& ctx,
                          logs::LogSink& log) {
  // Patterns first: a path that escapes fails the phase before anything is read.
  Glob::Options subtree;
  subtree.literal_selects_subtree = true;
  std::vector<Glob> include;
  std::vector<std::size_t> include_index;  // include[i] is spec.files[include_index[i]]
  for (std::size_t i = 0; i < spec.files.size(); ++i) {
    if (is_absolute(spec.files[i]) && ctx.environment_root != nullptr) continue;
    auto g = Glob::compile(spec.files[i], subtree);
    if (g) {
      include.push_back(std::move(*g));
      include_index.push_back(i);
    } else if (g.error().code() == ErrorCode::kPathEscape) {
      return client_error("files: " + g.error().message());
    }  // else: malformed, logged as "Skipping invalid file path" below
  }
  std::vector<Glob> exclude;
  for (const std::string& p : spec.exclude_paths) {
    // A malformed exclusion fails instead of being skipped: ignoring it would silently ship the
    // files it was meant to keep out.
    auto g = Glob::compile(p, subtree);
    if (!g) return client_error("exclude-paths: " + g.error().message());
    exclude.push_back(std::move(*g));
  }

  std::string base = ".";
  if (spec.base_directory) {
    auto expanded = expand_if_needed(ctx.expand, *spec.base_directory);
    if (!expanded) return fail(std::move(expanded.error()).with("while expanding base-directory"));
    if (expanded->empty()) {
      return client_error("no matching base directory path found for " + *spec.base_directory);
    }
    base = *expanded;
  }
  // Absolute entries first: a copy that fails is kiln's failure, before any line is logged.
  std::vector<std::optional<AbsoluteMatch>> absolute(spec.files.size());
  for (std::size_t i = 0; i < spec.files.size(); ++i) {
    if (!is_absolute(spec.files[i]) || ctx.environment_root == nullptr) continue;
    std::optional<UploadFailure> failure;
    auto m = match_absolute(spec.files[i], ctx, spec.enable_symlinks, failure);
    if (!m) return fail(std::move(m.error()));
    if (failure) return client_error(failure->message);
    absolute[i] = std::move(*m);
  }

  log.agent_line("Expanding base directory path: " + base);
  log.agent_line("Assembling file list");
  log.agent_line("Expanding " + base);
  auto bases = resolve_bases(base, ctx);
  if (!bases) return fail(std::move(bases.error()));
  if (bases->failure) return client_error(bases->failure->message);

  std::optional<std::pair<dev_t, ino_t>> skip;
  struct stat skip_stat;
  if (!ctx.skip_dir.empty() && ::stat(ctx.skip_dir.c_str(), &skip_stat) == 0) {
    skip.emplace(skip_stat.st_dev, skip_stat.st_ino);
  }
  std::vector<WalkResult> walks;
  walks.reserve(bases->bases.size());
  for (const Base& b : bases->bases) {
    log.agent_line("Expanding file paths for base directory " + b.shown);
    log.agent_line("Assembling file list");
    WalkSpec ws{bases->root, b.resolved, &include, &exclude, spec.enable_symlinks, skip};
    auto walk = walk_tree(ws);
    if (!walk) return fail(std::move(walk.error()).with("while collecting artifact files"));
    std::size_t next = 0;
    for (std::size_t i = 0; i < spec.files.size(); ++i) {
      log.agent_line("Expanding " + spec.files[i]);
      const bool valid = next < include_index.size() && include_index[next] == i;
      std::size_t count = valid ? walk->per_pattern[next++] : 0;
      if (absolute[i]) count = absolute[i]->walk.hits.size();
      if (count == 0) log.agent_line("Skipping invalid file path " + spec.files[i]);
    }
    for (const std::string& n : walk->notes) log.agent_line(n);
    if (!walk->hits.empty()) {
      log.agent_line("Found " + std::to_string(walk->hits.size()) + " file(s)");
    }
    walks.push_back(std::move(*walk));
  }

  std::vector<Candidate> candidates;
  for (std::size_t b = 0; b < walks.size(); ++b) {
    for (const WalkHit& h : walks[b].hits) {
      std::string ap = h.rel;
      if (spec.discard_paths) ap = ap.substr(ap.rfind('/') + 1);  // npos + 1 == 0
      candidates.push_back(Candidate{std::move(ap), h.rel, &h, {}});
    }
  }
  for (const auto& a : absolute) {
    if (!a) continue;
    const std::string dir = a->prefix.substr(1);  // without the leading '/'
    for (const WalkHit& h : a->walk.hits) {
      std::string ap = dir.empty() ? h.rel : dir + "/" + h.rel;
      if (spec.discard_paths) ap = ap.substr(ap.rfind('/') + 1);
      candidates.push_back(Candidate{std::move(ap), a->prefix + "/" + h.rel, &h, a->root});
    }
  }
  // Stable: among equal archive paths the first base, then the first path, wins.
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const Candidate& a, const Candidate& c) { return a.archive_path < c.archive_path; });

  Collected out;
  out.files.root = bases->root;
  for (const Candidate& c : candidates) {
    if (!out.files.entries.empty() && out.files.entries.back().archive_path == c.archive_path) {
      const Entry& kept = out.files.entries.back();
      if (kept.source_rel != c.hit->source_rel || kept.is_symlink != c.hit->is_symlink ||
          kept.root != c.root) {
        log.agent_line("Skipping duplicate artifact path " + c.archive_path + " (from " + c.shown +
                       ")");
      }
      continue;
    }
    Entry e;
    e.archive_path = c.archive_path;
    e.source = (c.root.empty() ? out.files.root : c.root) / c.hit->source_rel;
    e.source_rel = c.hit->source_rel;
    e.is_symlink = c.hit->is_symlink;
    e.link_target = c.hit->link_target;
    e.root = c.root;
    out.files.entries.push_back(std::move(e));
  }
  if (out.files.entries.empty()) return client_error(kNoMatchingPaths);
  return out;
}

}  // namespace kiln::artifacts
