#include "server/report_ingest.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include <nlohmann/json.hpp>

#include "api/report_shape.h"
#include "artifacts/zip_writer.h"
#include "net/http_client.h"
#include "util/safe_read.h"

namespace kiln::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct ReportFile {
  int n = 0;
  fs::path path;
};

// report-<n>.json, n a positive decimal number.
std::optional<int> file_number(const std::string& name) {
  constexpr std::string_view kHead = "report-";
  constexpr std::string_view kTail = ".json";
  if (!name.starts_with(kHead) || !name.ends_with(kTail)) return std::nullopt;
  const std::string_view digits =
      std::string_view(name).substr(kHead.size(), name.size() - kHead.size() - kTail.size());
  int n = 0;
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size() || n < 1)
    return std::nullopt;
  return n;
}

// The report files of `dir` in the order of n; links and other kinds of files are not read.
std::vector<ReportFile> report_files(const fs::path& dir, const IngestLog& log) {
  std::vector<ReportFile> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto n = file_number(name);
    if (!n) continue;
    if (!fs::is_regular_file(it->symlink_status(ec))) {
      log(name + " is not a regular file: skipped");
      continue;
    }
    out.push_back({*n, it->path()});
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    log("listing " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const ReportFile& a, const ReportFile& b) { return a.n < b.n; });
  return out;
}

Result<reports::Report> read_report(const fs::path& file, std::uint64_t max_bytes) {
  auto text = read_regular_file(file, max_bytes);
  if (!text) return fail(std::move(text.error()));
  const json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::kParse, "not valid JSON");
  return reports::report_from_file_json(j);
}

// The stored group of `r`, made when it does not exist; nullopt, logged, when there is none.
std::optional<json> group_of(const reports::Report& r, store::Store& store, double now,
                             const IngestLog& log) {
  auto rows = store.get_report_groups({r.group_arn});
  if (rows && rows->empty()) {
    const auto name = reports::group_name_from_arn(r.group_arn);
    if (!name || name->size() < 2 || name->size() > 128) {
      log("report " + r.arn + ": " + r.group_arn + " is not a report group ARN: skipped");
      return std::nullopt;
    }
    const std::string type(reports::type_name(r.type));
    const json made = api::new_report_group(r.group_arn, *name, type, now);
    auto created = store.create_report_group({r.group_arn, *name, type, now, now, made.dump()},
                                             api::kMaxReportGroups);
    if (created && *created == store::GroupCreated::kAtLimit) {
      log("report " + r.arn + ": its group " + *name + " cannot be made: there are " +
          std::to_string(api::kMaxReportGroups) + " report groups already: skipped");
      return std::nullopt;
    }
    if (!created) {
      rows = tl::unexpected(std::move(created.error()));
    } else {
      rows = store.get_report_groups({r.group_arn});  // made here, or meanwhile by another
    }
  }
  if (!rows) {
    log("report " + r.arn + ": reading its group: " + rows.error().describe() + ": skipped");
    return std::nullopt;
  }
  if (rows->empty()) {
    log("report " + r.arn + ": the name of its group " + r.group_arn +
        " is taken by a group of another ARN: skipped");
    return std::nullopt;
  }
  json group = json::parse(rows->front().json, nullptr, false);
  if (group.is_discarded() || !group.is_object()) group = json::object();
  group["type"] = rows->front().type;
  return group;
}

// A report of the wrong type for its group keeps only what says so.
void make_incomplete(reports::Report& r, reports::ReportType group_type) {
  r.status = reports::ReportStatus::kIncomplete;
  r.type = group_type;
  r.truncated = false;
  r.test_summary = {};
  r.coverage_summary = {};
  r.test_cases.clear();
  r.coverages.clear();
}

// Every regular file under `root`, as a FileList (links are not followed nor kept).
Result<artifacts::FileList> raw_files(const fs::path& root) {
  artifacts::FileList list;
  std::error_code ec;
  list.root = fs::canonical(root, ec);
  if (ec) return fail(ErrorCode::kIo, "resolve " + root.string() + ": " + ec.message());
  for (fs::recursive_directory_iterator it(list.root, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!fs::is_regular_file(it->symlink_status(ec))) continue;
    const std::string rel = it->path().lexically_relative(list.root).generic_string();
    list.entries.push_back({rel, it->path(), rel, false, "", {}});
  }
  if (ec) return fail(ErrorCode::kIo, "list " + root.string() + ": " + ec.message());
  std::sort(list.entries.begin(), list.entries.end(),
            [](const auto& a, const auto& b) { return a.archive_path < b.archive_path; });
  return list;
}

Result<void> upload(const fs::path& raw, const reports::Report& r, const json& s3,
                    const IngestOptions& options) {
  auto config = options.s3_config();
  if (!config) return fail(std::move(config.error()).with("the server's S3 configuration"));
  auto files = raw_files(raw);
  if (!files) return fail(std::move(files.error()));
  if (files->entries.empty()) return {};
  const std::string bucket = s3.value("bucket", "");
  std::string prefix = s3.value("path", "");
  while (prefix.ends_with('/')) prefix.pop_back();
  if (!prefix.empty()) prefix += '/';
  const std::string id = r.arn.substr(r.arn.rfind(':') + 1);

  net::PutOptions put;
  put.metadata.emplace_back("codebuild-buildarn", r.execution_id);
  const std::string key = s3.value("encryptionKey", "");
  if (s3.value("encryptionDisabled", false)) {
    put.sse = net::Sse::kNone;
  } else {
    put.sse = key.empty() ? net::Sse::kAes256 : net::Sse::kKms;
    put.kms_key_id = key;
  }
  auto http = net::make_curl_client();
  net::S3Client client(*http, std::move(*config));
  if (s3.value("packaging", "NONE") == "ZIP") {
    const fs::path zip = raw.string() + ".zip";
    auto written = artifacts::write_zip(*files, zip);
    if (!written) return fail(std::move(written.error()));
    auto put_zip = client.put_file({bucket, prefix + id + ".zip"}, zip, put);
    if (!put_zip) return fail(std::move(put_zip.error()));
    return {};
  }
  for (const auto& e : files->entries) {
    auto put_one = client.put_file({bucket, prefix + id + "/" + e.archive_path}, e.source, put);
    if (!put_one) return fail(std::move(put_one.error()).with("uploading " + e.archive_path));
  }
  return {};
}

void export_raw(const fs::path& raw, const reports::Report& r, const json& config,
                const IngestOptions& options, const IngestLog& log) {
  if (!config.is_object() || config.value("exportConfigType", "") != "S3") return;
  const json s3 = config.value("s3Destination", json::object());
  if (!options.s3_config) {
    log("report " + r.arn + ": its group exports to S3, but this server has no S3 " +
        "configuration: not exported");
    return;
  }
  if (auto up = upload(raw, r, s3.is_object() ? s3 : json::object(), options); !up)
    log("report " + r.arn + ": exporting its raw files to S3: " + up.error().describe());
}

}  // namespace

std::vector<std::string> ingest_reports(const fs::path& dir, store::Store& store,
                                        const IngestOptions& options, double now,
                                        const IngestLog& log) {
  std::vector<std::string> stored;
  for (const auto& file : report_files(dir, log)) {
    const std::string name = file.path.filename().string();
    auto report = read_report(file.path, options.max_file_bytes);
    if (!report) {
      log(name + ": " + report.error().describe() + ": skipped");
      continue;
    }
    reports::Report& r = *report;
    auto group = group_of(r, store, now, log);
    if (!group) continue;
    const auto group_type = reports::type_from_name(group->value("type", ""));
    if (group_type && *group_type != r.type) {
      log("report " + r.arn + ": a " + std::string(reports::type_name(r.type)) + " report in the " +
          group->value("type", "") + " group " + r.group_arn +
          ": stored INCOMPLETE, without its results");
      make_incomplete(r, *group_type);
    }
    if (r.created <= 0) r.created = now;
    r.expired = r.created + options.expiry_days * 86400.0;
    const json config = group->value("exportConfig", json{{"exportConfigType", "NO_EXPORT"}});
    const api::StoredReport s = api::stored_report(r, config);
    if (auto in = store.insert_report(s.row, s.cases, s.coverages); !in) {
      log(name + ": " + in.error().describe() + ": skipped");
      continue;
    }
    stored.push_back(r.arn);
    fs::path raw = file.path;
    raw.replace_extension(".raw");
    export_raw(raw, r, config, options, log);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) log("removing " + dir.string() + ": " + ec.message());
  return stored;
}

}  // namespace kiln::server
