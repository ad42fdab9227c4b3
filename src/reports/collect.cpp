// Explicit report groups (§7.1): names, file selection, parsing, status and masking.
#include "reports/collect.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>

#include "artifacts/collect.h"
#include "reports/junit_out.h"
#include "util/files.h"
#include "util/safe_read.h"
#include "util/string.h"

namespace kiln::reports {

namespace {

constexpr double kDaySeconds = 24 * 60 * 60;
// Names listed in the "Skipping report groups" line; the rest are counted.
constexpr std::size_t kSkippedNamesShown = 20;

// Masked, and valid UTF-8: every string of a report goes into JSON and the log.
std::string masked(const CollectRequest& req, std::string s) {
  if (!req.mask || s.empty()) return valid_utf8(s);
  return valid_utf8(req.mask(s));
}

// The group name and ARN of a buildspec key (§7.1): an ARN is used as it is; a name N becomes
// "<project>-N".
std::pair<std::string, std::string> group_of(const CollectRequest& req, const std::string& key) {
  if (auto name = group_name_from_arn(key)) return {*name, key};
  std::string name = req.identity.project + "-" + key;
  std::string arn = group_arn(req.identity.region, req.identity.account, name);
  return {std::move(name), std::move(arn)};
}

void log_skipped_groups(const std::vector<spec::Report>& groups, logs::LogSink& log) {
  if (groups.size() <= kMaxGroups) return;
  std::string names;
  const std::size_t skipped = groups.size() - kMaxGroups;
  for (std::size_t i = kMaxGroups; i < groups.size() && i < kMaxGroups + kSkippedNamesShown; ++i) {
    if (!names.empty()) names += ", ";
    names += groups[i].group;
  }
  if (skipped > kSkippedNamesShown)
    names += " and " + std::to_string(skipped - kSkippedNamesShown) + " more";
  log.agent_line("Skipping " + std::to_string(skipped) +
                 " report group(s) beyond the limit of 5 per project: " + names);
}

std::string describe_counts(const Report& r) {
  char buf[160];
  if (r.type == ReportType::kCodeCoverage) {
    std::snprintf(buf, sizeof buf, " (%zu file(s), line coverage %.2f%%, branch coverage %.2f%%)",
                  r.coverages.size(), r.coverage_summary.line_percentage(),
                  r.coverage_summary.branch_percentage());
  } else {
    const auto count = [&](std::string_view s) {
      auto it = r.test_summary.status_counts.find(std::string(s));
      return it == r.test_summary.status_counts.end() ? 0LL : static_cast<long long>(it->second);
    };
    std::snprintf(buf, sizeof buf, " (%lld test case(s), %lld failed)",
                  static_cast<long long>(r.test_summary.total), count(kFailed) + count(kError));
  }
  return buf;
}

// Selects a group's files with the artifact collector. A problem is returned, not an Error:
// the report becomes INCOMPLETE and the build goes on.
std::optional<std::string> select_files(const CollectRequest& req, const spec::Report& group,
                                        std::vector<detail::FileToParse>& files,
                                        logs::LogSink& log) {
  spec::ArtifactSpec spec;
  spec.files = group.files;
  spec.base_directory = group.base_directory;
  spec.discard_paths = group.discard_paths;
  artifacts::CollectContext ctx;
  ctx.src_dir = req.src_dir;
  ctx.source_roots = req.source_roots;
  ctx.expand = req.expand ? &req.expand : nullptr;
  if (req.open_environment_root) {
    ctx.environment_root = &req.open_environment_root;
    ctx.staging = req.staging_dir;
  }
  auto collected = artifacts::collect(spec, ctx, log);
  if (!collected) return collected.error().describe();
  if (collected->failure) {
    if (collected->failure->message == artifacts::kNoMatchingPaths)
      return std::string("no matching report paths found");
    return collected->failure->message;
  }
  for (const artifacts::Entry& e : collected->files.entries) {
    const std::filesystem::path& root = e.root.empty() ? collected->files.root : e.root;
    detail::FileToParse f;
    f.root = root;
    f.source_rel = e.source_rel;
    f.shown = e.root.empty() ? e.source_rel : e.source.string();
    f.raw_path = e.root.empty() ? detail::build_path(req, root, e.source_rel) : e.archive_path;
    f.raw_name = e.archive_path;
    files.push_back(std::move(f));
  }
  return std::nullopt;
}

// Copies all of `in` to `out` (a raw file for export).
Result<void> copy_fd(int in, int out, const std::string& shown) {
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(in, buf, sizeof buf);
    if (n == 0) return {};
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno_error(ErrorCode::kIo, "read " + shown));
    }
    if (!logs::write_all(out, std::string_view(buf, static_cast<std::size_t>(n))))
      return fail(errno_error(ErrorCode::kIo, "write " + shown));
  }
}

Result<UniqueFd> open_report_file(std::map<std::filesystem::path, UniqueFd>& roots,
                                  const detail::FileToParse& f, std::uint64_t max_bytes) {
  auto it = roots.find(f.root);
  if (it == roots.end()) {
    auto fd = open_directory(f.root);
    if (!fd) return fail(std::move(fd.error()));
    it = roots.emplace(f.root, std::move(*fd)).first;
  }
  // O_NONBLOCK: a FIFO planted after the walk must not hang the build.
  auto fd = open_beneath(it->second.get(), f.source_rel, O_RDONLY | O_NONBLOCK);
  if (!fd) return fail(std::move(fd.error()));
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return fail(errno_error(ErrorCode::kIo, "stat " + f.shown));
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::kInvalidArgument, "not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return fail(ErrorCode::kInvalidArgument,
                "is larger than " + size_text(max_bytes) + ", the limit for a report file");
  }
  return fd;
}

// The size limit of `format` (reports/parse.h): checked from the file's size before a byte is
// read, so a 2 GB file costs nothing.
std::uint64_t size_limit(Format format, const ParseLimits& limits) {
  const bool json = format == Format::kCucumberJson || format == Format::kSimpleCov;
  return json ? limits.max_json_bytes : limits.max_xml_bytes;
}

}  // namespace

DiscoverSettings discover_settings(const std::map<std::string, std::string>& env) {
  DiscoverSettings s;
  if (auto it = env.find("CODEBUILD_CONFIG_AUTO_DISCOVER"); it != env.end())
    s.enabled = !iequals(trim(it->second), "false");
  if (auto it = env.find("CODEBUILD_CONFIG_AUTO_DISCOVER_DIR"); it != env.end())
    s.dir = std::string(trim(it->second));
  return s;
}

ReportStatus status_for(const Report& r) {
  if (!r.problems.empty()) return ReportStatus::kIncomplete;
  for (std::string_view s : {kFailed, kError}) {
    auto it = r.test_summary.status_counts.find(std::string(s));
    if (it != r.test_summary.status_counts.end() && it->second > 0) return ReportStatus::kFailed;
  }
  return ReportStatus::kSucceeded;
}

namespace detail {

Report new_report(const CollectRequest& req, const std::string& group_name,
                  const std::string& group_arn_text, ReportType type) {
  Report r;
  r.name = group_name;
  r.group_arn = group_arn_text;
  r.arn = "arn:aws:codebuild:" + req.identity.region + ":" + req.identity.account + ":report/" +
          group_name + ":" + make_uuid();
  r.execution_id = req.identity.build_arn;
  r.type = type;
  r.status = ReportStatus::kGenerating;
  r.created = to_epoch_seconds(req.clock->now());
  r.expired = r.created + kDefaultExpiryDays * kDaySeconds;
  for (std::string_view s : kTestStatuses) r.test_summary.status_counts[std::string(s)] = 0;
  return r;
}

std::string build_path(const CollectRequest& req, const std::filesystem::path& root,
                       const std::string& rel) {
  std::vector<artifacts::SourceRoot> roots = req.source_roots;
  if (roots.empty()) roots.push_back({req.src_dir.string(), req.src_dir});
  for (const auto& r : roots) {
    std::error_code ec;
    const auto canonical = std::filesystem::canonical(r.host_path, ec);
    if (ec || canonical != root) continue;
    std::string base = r.build_path;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    return base + "/" + rel;
  }
  return rel;
}

void parse_files(const CollectRequest& req, Format format, const std::vector<FileToParse>& files,
                 CollectedReport& out, logs::LogSink& log) {
  TestCollector collector;
  std::map<std::filesystem::path, UniqueFd> roots;
  Report& r = out.report;
  for (const FileToParse& f : files) {
    auto fd = open_report_file(roots, f, size_limit(format, req.limits));
    if (!fd) {
      std::string problem = valid_utf8(f.shown + ": " + fd.error().message());
      log.agent_line(masked(req, problem));
      r.problems.push_back(std::move(problem));
      continue;
    }
    // Only files that were read are exported: never a 2 GB file that was refused.
    r.raw_files.push_back(f.raw_name);
    out.raw.push_back(RawFile{f.root, f.source_rel});
    Result<void> parsed;
    if (type_of(format) == ReportType::kTest) {
      parsed = parse_test_file(format, fd->get(), f.shown, f.raw_path, collector, req.limits);
    } else {
      auto cov = parse_coverage_file(format, fd->get(), f.shown, req.limits);
      if (cov) {
        for (FileCoverage& c : *cov) {
          r.coverage_summary += c.counts;
          r.coverages.push_back(std::move(c));
        }
      } else {
        parsed = fail(std::move(cov.error()));
      }
    }
    if (!parsed) {
      log.agent_line(masked(req, parsed.error().message()));
      r.problems.push_back(valid_utf8(parsed.error().message()));
    }
  }
  if (r.type == ReportType::kTest) {
    r.test_summary = collector.summary();
    for (std::string_view s : kTestStatuses) r.test_summary.status_counts.emplace(s, 0);
    r.truncated = collector.truncated();
    r.test_cases = collector.take_cases();
  }
}

void finish(const CollectRequest& req, CollectedReport& out, logs::LogSink& log) {
  Report& r = out.report;
  r.status = status_for(r);
  const auto m = [&](std::string& s) { s = masked(req, std::move(s)); };
  // Parsers hand over valid UTF-8 (libxml2 and the JSON reader check it); masked() makes sure.
  m(r.arn);
  m(r.name);
  m(r.group_arn);
  for (TestCase& c : r.test_cases) {
    m(c.test_raw_data_path);
    m(c.prefix);
    m(c.name);
    m(c.message);
    m(c.test_suite_name);
  }
  for (FileCoverage& f : r.coverages) m(f.file_path);
  for (std::string& p : r.problems) m(p);
  for (std::string& p : r.raw_files) m(p);
  log.agent_line("Report " + r.name + ": " + std::string(status_name(r.status)) +
                 describe_counts(r));
}

}  // namespace detail

std::vector<CollectedReport> collect_reports(const CollectRequest& req, logs::LogSink& log) {
  std::vector<CollectedReport> out;
  std::vector<detail::FileToParse> taken;
  if (req.groups != nullptr) {
    const auto& groups = *req.groups;
    for (std::size_t i = 0; i < groups.size() && i < kMaxGroups; ++i) {
      const spec::Report& g = groups[i];
      std::vector<std::string> problems;
      std::string key = g.group;
      auto expanded = artifacts::expand_if_needed(req.expand ? &req.expand : nullptr, g.group);
      if (expanded && !expanded->empty()) {
        key = std::move(*expanded);
      } else {
        problems.push_back("cannot expand the report group name " + g.group + ": " +
                           (expanded ? std::string("it is empty") : expanded.error().message()));
      }
      const std::string format_text = g.file_format.value_or("JUNITXML");
      const auto format = format_from_name(format_text);
      if (!format) problems.push_back("unknown report file-format " + format_text);
      const ReportType type = format ? type_of(*format) : ReportType::kTest;
      auto [name, arn] = group_of(req, key);
      CollectedReport c{detail::new_report(req, name, arn, type), {}};
      log.agent_line(
          masked(req, "Preparing to copy " + std::string(type_name(type)) + " report " + name));
      for (const std::string& p : problems)
        log.agent_line(masked(req, "Report " + name + ": " + p));
      c.report.problems = std::move(problems);
      if (format) {
        std::vector<detail::FileToParse> files;
        if (auto problem = select_files(req, g, files, log)) {
          log.agent_line(masked(req, "Report " + name + ": " + *problem));
          c.report.problems.push_back(std::move(*problem));
        }
        detail::parse_files(req, *format, files, c, log);
        taken.insert(taken.end(), files.begin(), files.end());
      }
      detail::finish(req, c, log);
      out.push_back(std::move(c));
    }
    log_skipped_groups(groups, log);
  }
  if (req.discover.enabled) detail::discover(req, taken, out, log);
  return out;
}

Result<void> write_report_files(const std::vector<CollectedReport>& reports,
                                const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + dir.string() + ": " + ec.message());
  std::map<std::filesystem::path, UniqueFd> roots;
  for (std::size_t n = 0; n < reports.size(); ++n) {
    const CollectedReport& c = reports[n];
    const std::string stem = "report-" + std::to_string(n + 1);
    for (std::size_t i = 0; i < c.raw.size() && i < c.report.raw_files.size(); ++i) {
      detail::FileToParse f{c.raw[i].root, c.raw[i].source_rel, c.raw[i].source_rel, "", ""};
      auto in = open_report_file(roots, f, ParseLimits{}.max_xml_bytes);
      if (!in) continue;  // the report already says why
      const std::string& name = c.report.raw_files[i];
      auto made = make_dirs_beneath(dir, stem + ".raw/" + name.substr(0, name.rfind('/') + 1));
      if (!made) return fail(std::move(made.error()));
      const std::filesystem::path dest = dir / (stem + ".raw") / name;
      UniqueFd out(
          ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!out) return fail(errno_error(ErrorCode::kIo, "create " + dest.string()));
      auto copied = copy_fd(in->get(), out.get(), dest.string());
      if (!copied) return fail(std::move(copied.error()));
      if (auto closed = out.close(dest.string()); !closed) return fail(std::move(closed.error()));
    }
    const std::string text = report_file_json(c.report).dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);  // never throws on bad UTF-8
    auto w = write_file_atomic(dir / (stem + ".json"), text + "\n");
    if (!w) return fail(std::move(w.error()));
  }
  return {};
}

}  // namespace kiln::reports
