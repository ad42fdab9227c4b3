// Takes a server build's reports in (docs/reports.md "On the server"). The engine in the build's
// worker writes one reports::report_file_json file per report, `report-<n>.json`, and the raw
// files for export under `report-<n>.raw/`, into a folder of the server's data the build cannot
// see (api::DataLayout::reports_dir). When the worker's final record arrives, before the
// scheduler publishes it, ingest_reports stores them and removes the folder.
//
// For each file, in the order of n:
//   - a file that is not a regular file, is larger than max_file_bytes, or is not a report file
//     is logged and skipped;
//   - its group (Report::group_arn) is made if it does not exist, with the report's type, no
//     export and no tags: a buildspec names groups nobody created (§7.1). At the account's limit
//     of report groups (api::kMaxReportGroups), or when the group's name is taken by a group of
//     another ARN, the report is logged and skipped;
//   - a report whose type is not its group's is stored INCOMPLETE, with the group's type and
//     neither cases nor coverages;
//   - `expired` is stamped `created` + expiry_days;
//   - the report, its cases and coverages are stored (the Report shape carries the group's
//     exportConfig);
//   - when the group's exportConfig is S3 and the server has an S3 configuration, the raw files
//     are uploaded to its bucket: packaging ZIP as <path>/<report id>.zip, NONE as
//     <path>/<report id>/<file> (the report id is the ARN's last part). Encryption follows
//     artifacts (s3_uploader.h): encryptionDisabled sends none, encryptionKey asks for SSE-KMS
//     with it, otherwise SSE-S3. A failed upload is logged; the report stays stored.
//
// Failures: never fails and never throws; every problem is one line for `log`.
// Thread safety: several builds' ingests may run at once (each makes its own S3 client).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "net/s3_client.h"
#include "reports/report.h"
#include "store/store.h"
#include "util/error.h"

namespace kiln::server {

struct IngestOptions {
  int expiry_days = reports::kDefaultExpiryDays;  // kiln server --report-expiry-days
  // The S3 endpoint and credentials exports use; unset: groups that export to S3 are not
  // exported (logged).
  std::function<Result<net::S3Config>()> s3_config;
  // A report file holds at most 500 cases of 5,000-character messages (§7.3): far below this.
  std::uint64_t max_file_bytes = std::uint64_t{64} << 20;
};

using IngestLog = std::function<void(const std::string&)>;

// Returns the ARNs of the reports stored, in the order of their files. `now` in epoch seconds:
// the creation time of groups made here, and of reports whose file has none.
std::vector<std::string> ingest_reports(const std::filesystem::path& dir, store::Store& store,
                                        const IngestOptions& options, double now,
                                        const IngestLog& log);

}  // namespace kiln::server
