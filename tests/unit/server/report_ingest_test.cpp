// Taking a build's reports in (server/report_ingest.h): what is stored, what is skipped and
// said, the groups made on the way, expiry, S3 export against a real S3-compatible server
// (tests/unit/s3_test_server.h), and the scheduler handing a build's reports over before it
// publishes the final record.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "api/report_shape.h"
#include "net/http_client.h"
#include "reports/report.h"
#include "s3_test_server.h"
#include "server/report_ingest.h"
#include "server/scheduler_fixture.h"
#include "util/files.h"

namespace kiln::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kAcct = "arn:aws:codebuild:us-east-1:123456789012:";
constexpr double kNow = 1700000000;

reports::Report test_report(const std::string& group, const std::string& uuid,
                            std::vector<std::string> statuses = {"SUCCEEDED", "FAILED"}) {
  reports::Report r;
  r.arn = kAcct + "report/" + group + ":" + uuid;
  r.name = group;
  r.group_arn = kAcct + "report-group/" + group;
  r.execution_id = kAcct + "build/app:" + uuid;
  r.type = reports::ReportType::kTest;
  r.status = reports::ReportStatus::kFailed;
  r.created = kNow - 10;
  r.expired = r.created + 30 * 86400.0;
  for (const auto& s : statuses) {
    reports::TestCase c;
    c.name = "t-" + s;
    c.status = s;
    r.test_cases.push_back(c);
    r.test_summary.status_counts[s]++;
  }
  r.test_summary.total = static_cast<std::int64_t>(statuses.size());
  return r;
}

reports::Report coverage_report(const std::string& group, const std::string& uuid) {
  reports::Report r = test_report(group, uuid, {});
  r.type = reports::ReportType::kCodeCoverage;
  r.status = reports::ReportStatus::kSucceeded;
  r.coverages = {{"src/a.c", {3, 1, 0, 0}}};
  r.coverage_summary = r.coverages[0].counts;
  return r;
}

class IngestTest : public ::testing::Test {
 protected:
  IngestTest() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-ingest-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    root_ = tmpl;
    dir_ = root_ / "reports" / "uuid";
    fs::create_directories(dir_);
  }
  ~IngestTest() override {
    std::error_code ec;
    if (!HasFailure())
      fs::remove_all(root_, ec);
    else
      std::cerr << "kept the folder of the failed test: " << root_ << "\n";
  }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  void write_report(int n, const reports::Report& r) {
    write("report-" + std::to_string(n) + ".json", reports::report_file_json(r).dump());
  }
  std::vector<std::string> ingest() {
    return ingest_reports(dir_, *store_, options_, kNow,
                          [&](const std::string& line) { log_.push_back(line); });
  }
  json stored_report(const std::string& arn) {
    auto rows = store_->get_reports({arn}, kNow);
    EXPECT_TRUE(rows && rows->size() == 1) << arn;
    return rows && !rows->empty() ? json::parse(rows->front().json) : json();
  }
  bool logged(const std::string& part) const {
    for (const auto& l : log_)
      if (l.find(part) != std::string::npos) return true;
    return false;
  }

  fs::path root_;
  fs::path dir_;
  IngestOptions options_;
  std::vector<std::string> log_;
  std::unique_ptr<store::Store> store_ = store::open_sqlite(":memory:").value();
};

TEST_F(IngestTest, StoresReportsInOrderMakingTheirGroups) {
  options_.expiry_days = 7;
  write_report(2, coverage_report("app-cov", "c2"));
  write_report(1, test_report("app-unit", "r1"));
  write_report(10, test_report("app-unit", "r10", {"SKIPPED"}));
  const auto stored = ingest();
  EXPECT_EQ(stored,
            (std::vector<std::string>{kAcct + "report/app-unit:r1", kAcct + "report/app-cov:c2",
                                      kAcct + "report/app-unit:r10"}));
  EXPECT_TRUE(log_.empty()) << log_.front();
  EXPECT_FALSE(fs::exists(dir_));

  const json r1 = stored_report(stored[0]);
  EXPECT_EQ(r1["status"], "FAILED");
  EXPECT_EQ(r1["expired"], kNow - 10 + 7 * 86400.0);
  EXPECT_EQ(r1["exportConfig"], json({{"exportConfigType", "NO_EXPORT"}}));
  EXPECT_EQ(r1["testSummary"]["total"], 2);
  auto cases = store_->list_test_cases(stored[0], {}, "", 100).value();
  ASSERT_EQ(cases.items.size(), 2U);
  EXPECT_EQ(json::parse(cases.items[1])["name"], "t-FAILED");
  EXPECT_EQ(json::parse(cases.items[1])["expired"], r1["expired"]);
  auto coverages = store_->list_code_coverages(stored[1], {}, "", 100).value();
  ASSERT_EQ(coverages.items.size(), 1U);
  EXPECT_EQ(json::parse(coverages.items[0])["lineCoveragePercentage"], 75.0);

  auto groups =
      store_->get_report_groups({kAcct + "report-group/app-unit", kAcct + "report-group/app-cov"})
          .value();
  ASSERT_EQ(groups.size(), 2U);
  EXPECT_EQ(groups[0].name, "app-unit");
  EXPECT_EQ(groups[0].type, "TEST");
  EXPECT_EQ(groups[1].type, "CODE_COVERAGE");
  EXPECT_EQ(json::parse(groups[0].json)["status"], "ACTIVE");
  EXPECT_EQ(groups[0].created, kNow);
}

TEST_F(IngestTest, BadFilesAreSaidAndSkippedTheOthersStored) {
  write("report-1.json", "{not json");
  write("report-2.json", R"({"arn": 5})");
  write_report(3, test_report("app-unit", "r3"));
  write("report-4.json", std::string(2000, ' '));
  fs::create_symlink("/etc/passwd", dir_ / "report-5.json");
  write("notes.txt", "not a report");
  write_report(6, test_report("app-unit", "r3"));  // the same ARN again
  options_.max_file_bytes = 1000;
  const auto stored = ingest();
  EXPECT_EQ(stored, std::vector<std::string>{kAcct + "report/app-unit:r3"});
  EXPECT_TRUE(logged("report-1.json: not valid JSON: skipped"));
  EXPECT_TRUE(logged("report-2.json: report: member 'arn' is missing or not a string: skipped"));
  EXPECT_TRUE(logged("report-4.json: ")) << ::testing::PrintToString(log_);
  EXPECT_TRUE(logged("report-5.json is not a regular file: skipped"));
  EXPECT_TRUE(logged("report-6.json: ")) << ::testing::PrintToString(log_);
  EXPECT_TRUE(logged("already exists")) << ::testing::PrintToString(log_);
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(IngestTest, AReportOfTheWrongTypeIsStoredIncomplete) {
  const std::string arn = kAcct + "report-group/app-unit";
  ASSERT_EQ(store_
                ->create_report_group({arn, "app-unit", "TEST", 1, 1,
                                       api::new_report_group(arn, "app-unit", "TEST", 1).dump()},
                                      1000)
                .value(),
            store::GroupCreated::kCreated);
  write_report(1, coverage_report("app-unit", "c1"));
  const auto stored = ingest();
  ASSERT_EQ(stored.size(), 1U);
  const json r = stored_report(stored[0]);
  EXPECT_EQ(r["status"], "INCOMPLETE");
  EXPECT_EQ(r["type"], "TEST");
  EXPECT_EQ(r["testSummary"]["total"], 0);
  EXPECT_FALSE(r.contains("codeCoverageSummary"));
  EXPECT_TRUE(store_->list_code_coverages(stored[0], {}, "", 100).value().items.empty());
  EXPECT_TRUE(logged("a CODE_COVERAGE report in the TEST group " + arn +
                     ": stored INCOMPLETE, without its results"));
}

TEST_F(IngestTest, NoGroupPastTheLimit) {
  for (int i = 0; i < api::kMaxReportGroups; ++i) {
    const std::string n = "g" + std::to_string(i);
    ASSERT_TRUE(store_->create_report_group({kAcct + "report-group/" + n, n, "TEST", 1, 1, "{}"},
                                            api::kMaxReportGroups));
  }
  write_report(1, test_report("app-unit", "r1"));
  EXPECT_TRUE(ingest().empty());
  EXPECT_TRUE(logged("its group app-unit cannot be made: there are 1000 report groups already"));
}

TEST_F(IngestTest, AMissingFolderIsNoReports) {
  fs::remove_all(dir_);
  EXPECT_TRUE(ingest().empty());
  EXPECT_TRUE(log_.empty());
}

TEST_F(IngestTest, S3ExportWithoutAnS3ConfigurationIsSaid) {
  const std::string arn = kAcct + "report-group/app-unit";
  json g = api::new_report_group(arn, "app-unit", "TEST", 1);
  g["exportConfig"] = {{"exportConfigType", "S3"}, {"s3Destination", {{"bucket", "b"}}}};
  ASSERT_TRUE(store_->create_report_group({arn, "app-unit", "TEST", 1, 1, g.dump()}, 1000));
  write_report(1, test_report("app-unit", "r1"));
  EXPECT_EQ(ingest().size(), 1U);
  EXPECT_TRUE(logged("its group exports to S3, but this server has no S3 configuration"));
  EXPECT_EQ(stored_report(kAcct + "report/app-unit:r1")["exportConfig"], g["exportConfig"]);
}

class IngestS3Test : public IngestTest {
 protected:
  static void SetUpTestSuite() {
    s3rver_.start();
    kiln::testing::announce("IngestS3Test", {&s3rver_});
  }
  static void TearDownTestSuite() { s3rver_.stop(); }
  void SetUp() override { KILN_REQUIRE_S3_SERVER(s3rver_); }

  net::S3Config config() const {
    net::S3Config c;
    c.endpoint = s3rver_.endpoint();
    c.credentials = {s3rver_.access_key(), s3rver_.secret_key(), ""};
    c.timeout_ms = 20'000;
    return c;
  }
  void make_bucket(const std::string& bucket) {
    net::HttpRequest req;
    req.method = "PUT";
    req.url = config().endpoint + "/" + bucket;
    req.sigv4_region = "us-east-1";
    req.sigv4_service = "s3";
    req.credentials = config().credentials;
    req.headers.emplace_back("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    auto r = http_->send(req);
    ASSERT_TRUE(r) << r.error().describe();
  }
  void group_exporting(const std::string& name, const std::string& packaging,
                       const std::string& bucket = "exports") {
    const std::string arn = kAcct + "report-group/" + name;
    json g = api::new_report_group(arn, name, "TEST", 1);
    g["exportConfig"] = {{"exportConfigType", "S3"},
                         {"s3Destination",
                          {{"bucket", bucket},
                           {"path", "team/" + name + "/"},
                           {"packaging", packaging},
                           {"encryptionDisabled", true}}}};
    ASSERT_TRUE(store_->create_report_group({arn, name, "TEST", 1, 1, g.dump()}, 1000));
  }
  void raw_file(int n, const std::string& rel, const std::string& text) {
    const fs::path p = dir_ / ("report-" + std::to_string(n) + ".raw") / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }

  static inline kiln::testing::S3TestServer s3rver_{kiln::testing::S3TestServer::Kind::kS3rver};
  std::unique_ptr<net::HttpClient> http_ = net::make_curl_client();
};

TEST_F(IngestS3Test, RawFilesGoToTheGroupsBucketZippedOrNot) {
  make_bucket("exports");
  group_exporting("app-zip", "ZIP");
  group_exporting("app-raw", "NONE");
  write_report(1, test_report("app-zip", "z1"));
  raw_file(1, "build/junit.xml", "<testsuite/>");
  write_report(2, test_report("app-raw", "n1"));
  raw_file(2, "build/junit.xml", "<testsuite/>");
  raw_file(2, "more/b.xml", "<testsuite name='b'/>");
  options_.s3_config = [this]() -> Result<net::S3Config> { return config(); };
  EXPECT_EQ(ingest().size(), 2U);
  EXPECT_TRUE(log_.empty()) << ::testing::PrintToString(log_);

  net::S3Client client(*http_, config());
  auto objects = client.list("exports", "team/");
  ASSERT_TRUE(objects) << objects.error().describe();
  std::vector<std::string> keys;
  for (const auto& o : *objects) keys.push_back(o.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"team/app-raw/n1/build/junit.xml",
                                            "team/app-raw/n1/more/b.xml", "team/app-zip/z1.zip"}));
  const fs::path got = root_ / "got.zip";
  auto zip = client.get_to_file({"exports", "team/app-zip/z1.zip"}, got);
  ASSERT_TRUE(zip) << zip.error().describe();
  const auto bytes = read_file(got);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->substr(0, 2), "PK");
  EXPECT_NE(bytes->find("build/junit.xml"), std::string::npos);
}

TEST_F(IngestS3Test, AFailedUploadKeepsTheReport) {
  group_exporting("app-zip", "ZIP", "no-such-bucket");
  write_report(1, test_report("app-zip", "z1"));
  raw_file(1, "junit.xml", "<testsuite/>");
  options_.s3_config = [this]() -> Result<net::S3Config> { return config(); };
  EXPECT_EQ(ingest().size(), 1U);
  EXPECT_TRUE(logged("exporting its raw files to S3: ")) << ::testing::PrintToString(log_);
}

}  // namespace

namespace test {
namespace {

// The scheduler points the build at its reports folder and takes the reports in before the first
// complete record is published, keeping in reportArns only the reports it stored.
TEST_F(SchedulerTest, TakesTheBuildsReportsInBeforeItsFinalRecord) {
  const std::string id = queue("app", "aaaa");
  scheduler().start();
  const pid_t pid = starter_.started(1).at(0);
  const auto request = read_file(data_.request_file("aaaa"));
  ASSERT_TRUE(request) << request.error().describe();
  const fs::path dir = data_.reports_dir("aaaa");
  EXPECT_EQ(json::parse(*request)["reportsDir"], dir.string());
  ASSERT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(fs::status(dir.parent_path()).permissions(), fs::perms::owner_all);

  const reports::Report r = test_report("app-unit", "r1");
  std::ofstream(dir / "report-1.json") << reports::report_file_json(r).dump();
  json last = worker_record(id, "BUILD", "SUCCEEDED");
  last["reportArns"] = {r.arn, kAcct + "report/app-unit:lost"};
  // As `kiln worker` does: the record of the last phase change is complete already, then comes
  // the final one. The reports are taken in once, and both keep their ARNs.
  starter_.emit(pid, last);
  starter_.emit(pid, last);
  starter_.exit(pid);
  ASSERT_TRUE(ends_with(id, "SUCCEEDED"));
  // Every record has been handled once the worker's request file is gone.
  ASSERT_TRUE(eventually(id, [&](const store::BuildRow&) {
    return !fs::exists(data_.request_file("aaaa")) && !fs::exists(dir);
  }));
  EXPECT_EQ(build(id)["reportArns"], json({r.arn}));
  EXPECT_EQ(store_->get_reports({r.arn}, kNow).value().size(), 1U);
}

}  // namespace
}  // namespace test
}  // namespace kiln::server
