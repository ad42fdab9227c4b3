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
#include <optional>
#include <string>
#include <vector>

#include "artifacts/uploader.h"
#include "logs/log_sink.h"
#include "spec/buildspec.h"
#include "util/error.h"

namespace kiln::artifacts {

struct Entry {
  std::string archive_path;      // '/'-separated, relative; unique within a FileList
  std::filesystem::path source;  // absolute host path; the link itself when is_symlink
  std::string source_rel;        // `source` relative to FileList::root, symlink-free
  bool is_symlink = false;       // store as a symlink (enable-symlinks)
  std::string link_target;       // the link's text, when is_symlink
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
};

// Exactly one of `failure` (the phase fails with that context) and a non-empty `files`.
struct Collected {
  std::optional<UploadFailure> failure;
  FileList files;
};

inline constexpr char kNoMatchingPaths[] = "no matching artifact paths found";

// Errors are kiln's own failures (an unreadable directory, a missing source dir, the expander
// failing); everything the buildspec got wrong is a CLIENT_ERROR in Collected::failure:
// a path that escapes (`../x`, `/etc/passwd`, a base-directory symlinked outside), a malformed
// exclude pattern, a base-directory that matches nothing, or no files at all.
[[nodiscard]] Result<Collected> collect(const spec::ArtifactSpec& spec, const CollectContext& ctx,
                                        logs::LogSink& log);

// Runs `expand` on `value` when it has something to expand (`$` or a backquote); otherwise, or
// without an expander, returns `value` unchanged.
[[nodiscard]] Result<std::string> expand_if_needed(const Expander* expand,
                                                   const std::string& value);

}  // namespace kiln::artifacts
