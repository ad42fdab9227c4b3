// Report auto-discover (§7.6): after the explicit groups, every file of the source (or of
// CODEBUILD_CONFIG_AUTO_DISCOVER_DIR) that an explicit group did not take is sniffed
// (reports::sniff_format); the files of one format make one report of the group
// "<project>-<FORMAT>-AutoDiscovered".
//
// Discovery is bounded, as CodeBuild's is ("Set report auto-discover timeout to 5 seconds"): it
// stops at DiscoverSettings::timeout or after max_files candidates, keeps what it found, and
// says so in the log. Only names a report can have (.xml, .json, .trx) are opened, and only
// their first kSniffBytes are read. Parsing what was found is not part of that time.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <set>

#include "artifacts/collect.h"
#include "reports/collect.h"
#include "util/files.h"
#include "util/string.h"

namespace kiln::reports::detail {

namespace {

constexpr std::size_t kSniffBytes = 4096;

// The artifact collector's lines, as CodeBuild's auto-discover writes them: the base directory
// line has two spaces (observed), and the file count is auto-discover's own, logged after
// sniffing.
class DiscoverLog final : public logs::LogSink {
 public:
  explicit DiscoverLog(logs::LogSink& to) : to_(to) {}
  void agent_line(std::string_view line) override {
    static constexpr std::string_view kBase = "Expanding base directory path: ";
    if (line.starts_with(kBase)) {
      to_.agent_line("Expanding base directory path:  " + std::string(line.substr(kBase.size())));
      return;
    }
    if (line.starts_with("Found ") || line.starts_with("Skipping invalid file path")) return;
    to_.agent_line(line);
  }
  void output(std::string_view chunk) override { to_.output(chunk); }

 private:
  logs::LogSink& to_;
};

bool may_be_report(const std::string& rel) {
  const auto dot = rel.rfind('.');
  if (dot == std::string::npos || rel.find('/', dot) != std::string::npos) return false;
  const std::string_view ext = std::string_view(rel).substr(dot + 1);
  return iequals(ext, "xml") || iequals(ext, "json") || iequals(ext, "trx");
}

// The first bytes of a candidate, or nullopt when it cannot be opened as a regular file.
std::optional<std::string> head_of(std::map<std::filesystem::path, UniqueFd>& roots,
                                   const FileToParse& f) {
  auto it = roots.find(f.root);
  if (it == roots.end()) {
    auto fd = open_directory(f.root);
    if (!fd) return std::nullopt;
    it = roots.emplace(f.root, std::move(*fd)).first;
  }
  auto fd = open_beneath(it->second.get(), f.source_rel, O_RDONLY | O_NONBLOCK);
  if (!fd) return std::nullopt;
  struct stat st;
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::string head(kSniffBytes, '\0');
  ssize_t n;
  do {
    n = ::pread(fd->get(), head.data(), head.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return std::nullopt;
  head.resize(static_cast<std::size_t>(n));
  return head;
}

}  // namespace

void discover(const CollectRequest& req, const std::vector<FileToParse>& taken,
              std::vector<CollectedReport>& out, logs::LogSink& log) {
  const auto& settings = req.discover;
  const auto start = req.clock->steady_now();
  log.agent_line("Set report auto-discover timeout to " +
                 std::to_string(settings.timeout.count() / 1000) + " seconds");
  spec::ArtifactSpec spec;
  spec.files = {"**/*"};
  if (!settings.dir.empty()) spec.base_directory = settings.dir;
  artifacts::CollectContext ctx;
  ctx.src_dir = req.src_dir;
  ctx.source_roots = req.source_roots;
  ctx.expand = req.expand ? &req.expand : nullptr;
  DiscoverLog filtered(log);
  auto collected = artifacts::collect(spec, ctx, filtered);

  std::set<std::pair<std::filesystem::path, std::string>> seen;
  for (const FileToParse& f : taken) seen.emplace(f.root, f.source_rel);
  std::map<Format, std::vector<FileToParse>> by_format;
  std::size_t found = 0;
  if (collected && !collected->failure) {
    std::map<std::filesystem::path, UniqueFd> roots;
    std::size_t examined = 0;
    for (const artifacts::Entry& e : collected->files.entries) {
      if (!may_be_report(e.source_rel)) continue;
      const std::filesystem::path& root = e.root.empty() ? collected->files.root : e.root;
      if (seen.count({root, e.source_rel})) continue;
      if (examined == settings.max_files) {
        log.agent_line("Report auto-discover examined its limit of " +
                       std::to_string(settings.max_files) + " files; the rest are skipped");
        break;
      }
      if (req.clock->steady_now() - start >= settings.timeout) {
        log.agent_line("Report auto-discover timed out after " +
                       std::to_string(settings.timeout.count() / 1000) +
                       " seconds; the rest of the files are skipped");
        break;
      }
      ++examined;
      FileToParse f{root, e.source_rel, e.source_rel, build_path(req, root, e.source_rel),
                    e.archive_path};
      auto head = head_of(roots, f);
      if (!head) continue;
      if (auto format = sniff_format(*head)) {
        by_format[*format].push_back(std::move(f));
        ++found;
      }
    }
  } else if (!collected) {
    log.agent_line("Report auto-discover: " + collected.error().describe());
  }
  if (found == 0)
    log.agent_line("No matching auto-discover report paths found");
  else
    log.agent_line("Found " + std::to_string(found) + " file(s)");
  const std::chrono::duration<double> took = req.clock->steady_now() - start;
  char secs[64];
  std::snprintf(secs, sizeof secs, "%.6f", took.count());
  log.agent_line(std::string("Report auto-discover file discovery took ") + secs + " seconds");

  for (Format format : kAllFormats) {
    auto it = by_format.find(format);
    if (it == by_format.end()) continue;
    const std::string name =
        req.identity.project + "-" + std::string(format_name(format)) + "-AutoDiscovered";
    CollectedReport c{
        new_report(req, name, group_arn(req.identity.region, req.identity.account, name),
                   type_of(format)),
        {}};
    parse_files(req, format, it->second, c, log);
    finish(req, c, log);
    out.push_back(std::move(c));
  }
}

}  // namespace kiln::reports::detail
