#include "artifacts/tree_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "util/files.h"
#include "util/rooted_path.h"

namespace kiln::artifacts {

namespace {

struct DirEntry {
  std::string name;
  unsigned char type;  // DT_REG, DT_DIR, DT_LNK, or another DT_*
};

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + '/' + name;
}

unsigned char type_of(mode_t mode) {
  if (S_ISREG(mode)) return DT_REG;
  if (S_ISDIR(mode)) return DT_DIR;
  if (S_ISLNK(mode)) return DT_LNK;
  return DT_UNKNOWN;
}

// Reads a whole directory, then closes it, so a deep tree never holds more than a couple of fds
// open; children are reopened by path beneath the root.
Result<std::vector<DirEntry>> read_dir(int root_fd, const std::string& source_rel,
                                       struct stat* dir_stat) {
  auto fd = open_beneath(root_fd, source_rel, O_RDONLY | O_DIRECTORY);
  if (!fd) return fail(std::move(fd.error()));
  if (::fstat(fd->get(), dir_stat) != 0) {
    return fail(errno_error(ErrorCode::kIo, "stat " + source_rel));
  }
  DIR* dir = ::fdopendir(fd->get());
  if (dir == nullptr) return fail(errno_error(ErrorCode::kIo, "opendir " + source_rel));
  fd->release();  // owned by `dir` now
  std::vector<DirEntry> out;
  Result<void> status;
  for (;;) {
    errno = 0;
    const dirent* d = ::readdir(dir);
    if (d == nullptr) {
      if (errno != 0) status = fail(errno_error(ErrorCode::kIo, "readdir " + source_rel));
      break;
    }
    const std::string_view name = d->d_name;
    if (name == "." || name == "..") continue;
    unsigned char type = d->d_type;
    if (type == DT_UNKNOWN) {  // some filesystems (xfs without ftype, some FUSE) do not fill it
      auto st = lstat_at(::dirfd(dir), d->d_name, join(source_rel, d->d_name));
      if (!st) {
        status = fail(std::move(st.error()));
        break;
      }
      type = type_of(st->st_mode);
    }
    out.push_back(DirEntry{std::string(name), type});
  }
  ::closedir(dir);  // a read-only directory stream: close cannot lose data
  if (!status) return fail(std::move(status.error()));
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

using States = std::vector<Glob::State>;

class Walker {
 public:
  Walker(const WalkSpec& spec, int root_fd) : spec_(spec), root_fd_(root_fd) {
    out_.per_pattern.assign(spec.include->size(), 0);
  }

  Result<void> walk_dir(const std::string& rel, const std::string& source_rel, const States& inc,
                        const States& exc);
  WalkResult take() { return std::move(out_); }

 private:
  bool descend(const States& inc, const States& exc) const;
  void add_hit(std::string rel, std::string source_rel, const States& inc, std::string target = {},
               bool is_link = false);
  Result<void> visit_link(const std::string& rel, const std::string& source_rel, bool matched,
                          const States& inc, const States& exc);
  void note(const std::string& rel, const std::string& why) {
    out_.notes.push_back("Skipping symbolic link " + rel + ": " + why);
  }

  const WalkSpec& spec_;
  int root_fd_;
  WalkResult out_;
  std::vector<std::pair<dev_t, ino_t>> ancestors_;  // directories being walked, for link loops
};

bool Walker::descend(const States& inc, const States& exc) const {
  for (std::size_t k = 0; k < exc.size(); ++k) {
    if ((*spec_.exclude)[k].matches_all_below(exc[k])) return false;
  }
  for (std::size_t k = 0; k < inc.size(); ++k) {
    if ((*spec_.include)[k].may_match_below(inc[k])) return true;
  }
  return false;
}

void Walker::add_hit(std::string rel, std::string source_rel, const States& inc, std::string target,
                     bool is_link) {
  for (std::size_t k = 0; k < inc.size(); ++k) {
    if ((*spec_.include)[k].accepts(inc[k])) ++out_.per_pattern[k];
  }
  out_.hits.push_back(WalkHit{std::move(rel), std::move(source_rel), is_link, std::move(target)});
}

Result<void> Walker::walk_dir(const std::string& rel, const std::string& source_rel,
                              const States& inc, const States& exc) {
  struct stat dir_stat;
  auto entries = read_dir(root_fd_, source_rel, &dir_stat);
  if (!entries) return fail(std::move(entries.error()));
  if (spec_.skip_dir && spec_.skip_dir->first == dir_stat.st_dev &&
      spec_.skip_dir->second == dir_stat.st_ino) {
    return {};
  }
  ancestors_.emplace_back(dir_stat.st_dev, dir_stat.st_ino);

  States child_inc(inc.size()), child_exc(exc.size());
  for (const DirEntry& e : *entries) {
    bool any = false;
    for (std::size_t k = 0; k < inc.size(); ++k) {
      child_inc[k] = (*spec_.include)[k].step(inc[k], e.name);
      any = any || child_inc[k] != 0;
    }
    if (!any) continue;  // no include pattern can match this name or anything below it
    bool excluded = false;
    for (std::size_t k = 0; k < exc.size(); ++k) {
      child_exc[k] = (*spec_.exclude)[k].step(exc[k], e.name);
      excluded = excluded || (*spec_.exclude)[k].accepts(child_exc[k]);
    }
    bool matched = false;
    for (std::size_t k = 0; k < inc.size() && !excluded && !matched; ++k) {
      matched = (*spec_.include)[k].accepts(child_inc[k]);
    }
    std::string child_rel = join(rel, e.name);
    std::string child_src = join(source_rel, e.name);
    Result<void> r;
    switch (e.type) {
      case DT_REG:
        if (matched) add_hit(std::move(child_rel), std::move(child_src), child_inc);
        break;
      case DT_DIR:
        if (descend(child_inc, child_exc)) r = walk_dir(child_rel, child_src, child_inc, child_exc);
        break;
      case DT_LNK: r = visit_link(child_rel, child_src, matched, child_inc, child_exc); break;
      default: break;  // fifos, sockets and devices have no content to archive
    }
    if (!r) return r;
  }
  ancestors_.pop_back();
  return {};
}

Result<void> Walker::visit_link(const std::string& rel, const std::string& source_rel, bool matched,
                                const States& inc, const States& exc) {
  const bool below = !spec_.keep_symlinks && descend(inc, exc);
  if (!matched && !below) return {};
  RootedPath::Options opts;
  opts.allow_missing = spec_.keep_symlinks;  // a kept link may dangle; a followed one may not
  auto target = RootedPath::resolve(spec_.root, source_rel, opts);
  if (!target) {
    switch (target.error().code()) {
      case ErrorCode::kPathEscape: note(rel, "its target is outside the source directory"); break;
      case ErrorCode::kNotFound: note(rel, "its target does not exist"); break;
      case ErrorCode::kInvalidArgument: note(rel, "too many levels of symbolic links"); break;
      default: return fail(std::move(target.error()));
    }
    return {};
  }
  if (spec_.keep_symlinks) {
    auto text = read_link_at(root_fd_, source_rel.c_str(), source_rel);
    if (!text) return fail(std::move(text.error()));
    add_hit(rel, source_rel, inc, std::move(*text), true);
    return {};
  }
  struct stat st;
  if (::stat(target->absolute().c_str(), &st) != 0) {
    return fail(errno_error(ErrorCode::kIo, "stat " + target->absolute().string()));
  }
  if (S_ISREG(st.st_mode)) {
    if (matched) add_hit(rel, target->relative(), inc);
  } else if (S_ISDIR(st.st_mode) && below) {
    for (const auto& [dev, ino] : ancestors_) {
      if (dev == st.st_dev && ino == st.st_ino) {
        note(rel, "it points to a directory that contains it");
        return {};
      }
    }
    return walk_dir(rel, target->relative(), inc, exc);
  }
  return {};
}

Result<void> match_dirs(int root_fd, const std::filesystem::path& root, const Glob& pattern,
                        const std::string& shown, const std::string& source_rel, Glob::State state,
                        std::vector<DirMatch>& out) {
  struct stat dir_stat;
  auto entries = read_dir(root_fd, source_rel, &dir_stat);
  if (!entries) return fail(std::move(entries.error()));
  for (const DirEntry& e : *entries) {
    if (e.type != DT_DIR && e.type != DT_LNK) continue;
    const Glob::State child = pattern.step(state, e.name);
    if (child == 0) continue;
    std::string child_shown = join(shown, e.name);
    std::string child_src = join(source_rel, e.name);
    if (e.type == DT_LNK) {
      // A symlinked directory may be a base, but is not descended into: no loops to guard.
      auto target = RootedPath::resolve(root, child_src);
      struct stat st;
      if (target && pattern.accepts(child) && ::stat(target->absolute().c_str(), &st) == 0 &&
          S_ISDIR(st.st_mode)) {
        out.push_back(DirMatch{std::move(child_shown), target->relative()});
      }
      continue;
    }
    if (pattern.accepts(child)) out.push_back(DirMatch{child_shown, child_src});
    if (pattern.may_match_below(child)) {
      auto r = match_dirs(root_fd, root, pattern, child_shown, child_src, child, out);
      if (!r) return r;
    }
  }
  return {};
}

}  // namespace

Result<WalkResult> walk_tree(const WalkSpec& spec) {
  auto root_fd = open_directory(spec.root);
  if (!root_fd) return fail(std::move(root_fd.error()));
  Walker walker(spec, root_fd->get());
  States inc, exc;
  for (const Glob& g : *spec.include) inc.push_back(g.start());
  for (const Glob& g : *spec.exclude) exc.push_back(g.start());
  auto r = walker.walk_dir("", spec.base_rel, inc, exc);
  if (!r) return fail(std::move(r.error()));
  WalkResult out = walker.take();
  std::sort(out.hits.begin(), out.hits.end(),
            [](const WalkHit& a, const WalkHit& b) { return a.rel < b.rel; });
  return out;
}

Result<std::vector<DirMatch>> match_directories(const std::filesystem::path& root,
                                                const Glob& pattern) {
  auto root_fd = open_directory(root);
  if (!root_fd) return fail(std::move(root_fd.error()));
  std::vector<DirMatch> out;
  auto r = match_dirs(root_fd->get(), root, pattern, "", "", pattern.start(), out);
  if (!r) return fail(std::move(r.error()));
  std::sort(out.begin(), out.end(),
            [](const DirMatch& a, const DirMatch& b) { return a.shown < b.shown; });
  return out;
}

}  // namespace kiln::artifacts
