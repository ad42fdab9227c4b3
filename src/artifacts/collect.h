// Turns one buildspec artifact definition (`files`, `base-directory`, `exclude-paths`,
// `discard-paths`, `enable-symlinks`) into the ordered list of files that go into the artifact,
// writing CodeBuild's agent lines to the log as it goes:
//
//   Expanding base directory path: <base-directory or .>
//   Assembling file list
//   Expanding <base-directory or .>
//   Expanding file paths for base directory <each matched base>     (then, per base:)
//   Assembling file list
//   Expanding <pattern>                                 (each `files` entry, in order)
//   Skipping invalid file path <pattern>                (after a pattern that selected nothing)
//   Found <n> file(s)                                   (when the base selected anything)
//
// Semantics and every choice the reference leaves open: docs/artifacts.md.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "artifacts/uploader.h"
#include "logs/log_sink.h"
#include "spec/buildspec.h"
#include "util/error.h"
#include "util/unique_fd.h"

namespace kiln::artifacts {

struct Entry {
  std::string archive_path;      // '/'-separated, relative; unique within a FileList
  std::filesystem::path source;  // absolute host path; the link itself when is_symlink
  std::string source_rel;        // `source` relative to FileList::root, symlink-free
  bool is_symlink = false;       // store as a symlink (enable-symlinks)
  std::string link_target;       // the link's text, when is_symlink
  // The root `source_rel` is relative to when it is not FileList::root: the host copy of a
  // folder of the build's environment (an absolute `files` entry; env_tree.h).
  std::filesystem::path root;
};

struct FileList {
  std::filesystem::path root;  // canonical source root; every source lies beneath it
  std::vector<Entry> entries;  // sorted by archive_path (bytewise)
};

struct CollectContext {
  std::filesystem::path src_dir;         // CODEBUILD_SRC_DIR on this host
  std::vector<SourceRoot> source_roots;  // see UploadRequest::source_roots
  const Expander* expand = nullptr;      // not owned; null or empty: values are used as written
  std::filesystem::path skip_dir;        // never collected from (the output directory); optional
  // Absolute paths outside the source trees (UploadRequest::open_environment_root): copied
  // from the environment into fresh folders under `staging` (private to kiln; made 0700) and
  // collected from there. Unset: such paths are a CLIENT_ERROR.
  const EnvironmentRoot* environment_root = nullptr;  // not owned
  std::filesystem::path staging;
};

// Exactly one of `failure` (the phase fails with that context) and a non-empty `files`.
struct Collected {
  std::optional<UploadFailure> failure;
  FileList files;
};

inline constexpr char kNoMatchingPaths[] = "no matching artifact paths found";

// An absolute `base-directory` outside the source trees, or an absolute `files` entry, names a
// folder of the build's environment (docs/artifacts.md "Absolute paths"): its longest
// wildcard-free folder is copied out (env_tree.h) and matched there, so a symlink in it that
// leaves the copy is skipped like one that leaves the source. An absolute `files` entry is
// independent of base-directory; its archive path is its path without the leading `/`
// (or the name alone with discard-paths), and exclude-paths do not apply to it.
//
// Errors are kiln's own failures (an unreadable directory, a missing source dir, the expander
// failing); everything the buildspec got wrong is a CLIENT_ERROR in Collected::failure:
// a path that escapes (`../x`, `/etc/passwd`, a base-directory symlinked outside), a malformed
// exclude pattern, a base-directory that matches nothing, or no files at all.
[[nodiscard]] Result<Collected> collect(const spec::ArtifactSpec& spec, const CollectContext& ctx,
                                        logs::LogSink& log);

// Directory fds for the roots of a FileList's entries (FileList::root, Entry::root), each
// opened once.
class RootFds {
 public:
  [[nodiscard]] Result<int> get(const FileList& files, const Entry& e);

 private:
  std::map<std::filesystem::path, UniqueFd> fds_;
};

// Runs `expand` on `value` when it has something to expand (`$` or a backquote); otherwise, or
// without an expander, returns `value` unchanged.
[[nodiscard]] Result<std::string> expand_if_needed(const Expander* expand,
                                                   const std::string& value);

}  // namespace kiln::artifacts
