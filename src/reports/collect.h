// Turns a buildspec's `reports` section (docs/reference/codebuild-semantics.md §7.1) and the
// report files a build left behind into Reports, in UPLOAD_ARTIFACTS (§7.5). The engine calls
// collect_reports() once per build; `kiln run` and the server's worker then hand the Reports on
// (write_report_files, docs/reports.md).
//
// Files are selected with the artifact collector itself (artifacts/collect.h: `files`,
// `base-directory`, `discard-paths`, the same glob code and CodeBuild's agent lines), so a
// symlink that leaves the source is skipped there, and every file is then opened beneath its
// root with O_NOFOLLOW (util/files.h open_beneath): a file swapped for a symlink after the walk
// is refused, never followed.
//
// What the log shows, per explicit group (in buildspec order, at most kMaxGroups of them):
//   Preparing to copy <TEST|CODE_COVERAGE> report <group name>
//   Expanding base directory path: ... Found <n> file(s)     (artifacts/collect.h)
//   <file>:<line>:<column>: <what>                          (a file that did not parse)
//   Report <group name>: <status> ...                        (one line per report)
// then auto-discover (§7.6, discover.cpp):
//   Set report auto-discover timeout to 5 seconds
//   Expanding base directory path:  . ... Expanding **/*
//   Found <n> file(s) | No matching auto-discover report paths found
//   Report auto-discover file discovery took <s> seconds
//
// Failure policy: nothing here fails the build or throws. A group whose files are missing,
// unreadable, malformed or of an unknown format becomes an INCOMPLETE report whose `problems`
// say why; the other groups and the other files of the group are still collected.
//
// Masking: every string a report carries (names, ARNs, messages, prefixes, suite names, paths,
// problems) passes `mask` before it leaves collect_reports, so a secret the build printed into a
// report file never reaches a stored report.
//
// Thread safety: none needed; one call owns everything it touches.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "artifacts/uploader.h"
#include "logs/log_sink.h"
#include "reports/parse.h"
#include "reports/report.h"
#include "spec/buildspec.h"
#include "util/clock.h"
#include "util/error.h"

namespace kiln::reports {

// "A project can have a maximum of five report groups" (§7.1). Auto-discovered groups are not
// counted (docs/reports.md).
inline constexpr std::size_t kMaxGroups = 5;

struct ReportIdentity {
  std::string project;
  std::string region;
  std::string account;
  std::string build_arn;  // Report.executionId
};

using Masker = std::function<std::string(std::string_view)>;

// Auto-discover (§7.6), from the build's final environment: CODEBUILD_CONFIG_AUTO_DISCOVER=false
// turns it off (any case), CODEBUILD_CONFIG_AUTO_DISCOVER_DIR names the folder searched.
struct DiscoverSettings {
  bool enabled = true;
  std::string dir;  // as written; "" = the whole primary source
  std::chrono::milliseconds timeout{5000};
  std::size_t max_files = 10000;  // candidate files examined (their first bytes read)
};
DiscoverSettings discover_settings(const std::map<std::string, std::string>& env);

struct CollectRequest {
  const std::vector<spec::Report>* groups = nullptr;  // not owned; null = none
  std::filesystem::path src_dir;                      // host path of CODEBUILD_SRC_DIR
  // Source trees as the build names them and where they are here (artifacts/uploader.h); the
  // primary first. Test cases name their file by its path as the build sees it.
  std::vector<artifacts::SourceRoot> source_roots;
  artifacts::Expander expand;  // group names and base-directory with `$`; may be empty
  // Absolute base-directory outside the sources (artifacts/uploader.h); empty: refused.
  artifacts::EnvironmentRoot open_environment_root;
  std::filesystem::path staging_dir;
  ReportIdentity identity;
  Masker mask;                   // empty: strings are kept as they are
  const Clock* clock = nullptr;  // not owned; required
  DiscoverSettings discover;
  ParseLimits limits;
};

// One file a report was made from, for export (Report::raw_files has its masked name): the
// files that were opened and read, not those refused (too large, not a regular file).
struct RawFile {
  std::filesystem::path root;  // the directory `source_rel` is beneath
  std::string source_rel;
};

struct CollectedReport {
  Report report;
  std::vector<RawFile> raw;  // parallel to report.raw_files
};

// Explicit groups first (buildspec order), then auto-discovered ones (format order).
std::vector<CollectedReport> collect_reports(const CollectRequest& req, logs::LogSink& log);

// Writes report-<n>.json (reports::report_file_json, n = 1, 2, ... in order) into `dir`
// (created if missing), and each report's raw files under report-<n>.raw/<raw_files[i]>.
// Files are written atomically. Errors: kIo naming the path; files already written stay.
[[nodiscard]] Result<void> write_report_files(const std::vector<CollectedReport>& reports,
                                              const std::filesystem::path& dir);

// The status rules (docs/reports.md): INCOMPLETE when anything went wrong, else FAILED when any
// case is FAILED or ERROR, else SUCCEEDED.
ReportStatus status_for(const Report& r);

// Internal to the reports layer (collect.cpp, discover.cpp).
namespace detail {

// The report as collect_reports() starts it: ARN, name, group ARN, build, times.
Report new_report(const CollectRequest& req, const std::string& group_name,
                  const std::string& group_arn_text, ReportType type);

// Parses `files` (entries of one artifacts::FileList) into `out`, test cases through
// `collector`. Problems are logged and added to out.report.problems.
struct FileToParse {
  std::filesystem::path root;
  std::string source_rel;  // beneath root
  std::string shown;       // in messages: relative to the source
  std::string raw_path;    // as the build sees it (testRawDataPath)
  std::string raw_name;    // Report::raw_files entry
};
void parse_files(const CollectRequest& req, Format format, const std::vector<FileToParse>& files,
                 CollectedReport& out, logs::LogSink& log);

// Masks every string of the report, and sets its status.
void finish(const CollectRequest& req, CollectedReport& out, logs::LogSink& log);

// The path of `rel` beneath the canonical root `root` as the build names it.
std::string build_path(const CollectRequest& req, const std::filesystem::path& root,
                       const std::string& rel);

void discover(const CollectRequest& req, const std::vector<FileToParse>& taken,
              std::vector<CollectedReport>& out, logs::LogSink& log);

}  // namespace detail

}  // namespace kiln::reports
