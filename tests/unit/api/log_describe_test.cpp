// CloudWatch Logs behaviour (docs/server.md, "Log groups and streams"): missing groups and streams,
// DescribeLogGroups, DescribeLogStreams, filter patterns through FilterLogEvents, the Logs model's
// error code for unknown operations, and event timestamps from the time index.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "api/authorize.h"
#include "api/service.h"
#include "logs/time_index.h"
#include "service_fixture.h"

namespace kiln::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class LogDescribeTest : public LogFolderTest {
 protected:
  // A build log and, unless `times` is empty, its time index.
  void write_log(const std::string& project, const std::string& uuid, const std::string& text,
                 const std::string& times = "") {
    const fs::path p = log_path(project, uuid);
    std::ofstream(p, std::ios::binary) << text;
    if (!times.empty()) std::ofstream(logs::time_index_path(p), std::ios::binary) << times;
  }
  // `target` without the Logs prefix ("GetLogEvents").
  Answer call(const std::string& target, const json& in) {
    return LogFolderTest::call("Logs_20140328." + target, in);
  }
  json ok(const std::string& target, const json& in) {
    Answer a = call(target, in);
    EXPECT_EQ(a.status, 200) << target << ": " << a.text;
    return a.body;
  }
  static std::vector<std::string> names(const json& list, const char* key) {
    std::vector<std::string> out;
    for (const auto& x : list) out.push_back(x[key]);
    return out;
  }
};

TEST_F(LogDescribeTest, MissingGroupsAndStreamsAreNamed) {
  write_log("app", "0000-aa", "hello\n");
  const std::string group_missing = "The specified log group does not exist.";
  const std::string stream_missing = "The specified log stream does not exist.";
  for (const char* op : {"GetLogEvents", "FilterLogEvents", "DescribeLogStreams"}) {
    const Answer a =
        call(op, {{"logGroupName", "/aws/codebuild/nope"}, {"logStreamName", "0000-aa"}});
    EXPECT_EQ(a.status, 400) << op;
    EXPECT_EQ(a.type(), "ResourceNotFoundException") << op;
    EXPECT_EQ(a.message(), group_missing) << op;
    EXPECT_EQ(call(op, {{"logGroupName", "/aws/lambda/app"}, {"logStreamName", "x"}}).message(),
              group_missing);
  }
  Answer a =
      call("GetLogEvents", {{"logGroupName", "/aws/codebuild/app"}, {"logStreamName", "0000-bb"}});
  EXPECT_EQ(a.type(), "ResourceNotFoundException");
  EXPECT_EQ(a.message(), stream_missing);
  a = call("GetLogEvents", {{"logGroupName", "/aws/codebuild/app"}, {"logStreamName", "../x"}});
  EXPECT_EQ(a.message(), stream_missing);
  // By ARN, as `aws logs tail` and the SDKs' logGroupIdentifier name it.
  EXPECT_EQ(ok("FilterLogEvents",
               {{"logGroupIdentifier",
                 "arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/app:*"}})["events"]
                .size(),
            1U);
}

TEST_F(LogDescribeTest, UnknownLogsOperationsAreInvalidParameter) {
  const Answer a = call("PutLogEvents", json::object());
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.type(), "InvalidParameterException");
  // Bad input to a Logs operation is the Logs model's error too, never CodeBuild's.
  write_log("app", "0000-aa", "hello\n");
  EXPECT_EQ(call("GetLogEvents", {{"logGroupName", "/aws/codebuild/app"}}).type(),
            "InvalidParameterException");
}

TEST_F(LogDescribeTest, EventsTakeTheirTimesFromTheIndex) {
  write_log("app", "0000-aa",
            "[Container] 2026/11/22 06:42:52.992104 Running\nline1\nline2\nline3\n",
            "0 5000\n47 6000\n53 7000\n59 8000\n");
  const json out = ok("GetLogEvents", {{"logGroupName", "/aws/codebuild/app"},
                                       {"logStreamName", "0000-aa"},
                                       {"startFromHead", true}});
  ASSERT_EQ(out["events"].size(), 4U);
  EXPECT_EQ(out["events"][0]["timestamp"], 5000);  // the index wins over the [Container] stamp
  EXPECT_EQ(out["events"][1]["timestamp"], 6000);
  EXPECT_EQ(out["events"][2]["timestamp"], 7000);
  EXPECT_EQ(out["events"][3]["timestamp"], 8000);
  // Old logs without an index keep the [Container] stamps.
  write_log("app", "0000-bb", "[Container] 2026/11/22 06:42:52.992104 Running\nline1\n");
  const json old = ok("GetLogEvents", {{"logGroupName", "/aws/codebuild/app"},
                                       {"logStreamName", "0000-bb"},
                                       {"startFromHead", true}});
  EXPECT_EQ(old["events"][1]["timestamp"], 1795329772992);
  // FilterLogEvents' time window uses the same times.
  const json window = ok("FilterLogEvents", {{"logGroupName", "/aws/codebuild/app"},
                                             {"logStreamNames", {"0000-aa"}},
                                             {"startTime", 6500},
                                             {"endTime", 7500}});
  ASSERT_EQ(window["events"].size(), 1U);
  EXPECT_EQ(window["events"][0]["message"], "line2");
}

TEST_F(LogDescribeTest, FilterPatternsSelectAndBadOnesAreRefused) {
  write_log("app", "0000-aa",
            "ERROR disk\nWARN low\nERROR Exiting\n{\"level\": \"error\", \"n\": 7}\n{\"level\": "
            "\"info\"}\n");
  auto messages = [&](const std::string& pattern) {
    const json out =
        ok("FilterLogEvents", {{"logGroupName", "/aws/codebuild/app"}, {"filterPattern", pattern}});
    return names(out["events"], "message");
  };
  EXPECT_EQ(messages("ERROR -Exiting"), std::vector<std::string>{"ERROR disk"});
  EXPECT_EQ(messages("?WARN ?Exiting"), (std::vector<std::string>{"WARN low", "ERROR Exiting"}));
  EXPECT_EQ(messages("{ $.level = \"error\" && $.n > 5 }"),
            std::vector<std::string>{R"({"level": "error", "n": 7})"});
  EXPECT_EQ(messages("%^W.*w$%"), std::vector<std::string>{"WARN low"});
  for (const char* bad : {"{ $.level = ", "%(a)%", "\"open", "[a, b]"}) {
    const Answer a =
        call("FilterLogEvents", {{"logGroupName", "/aws/codebuild/app"}, {"filterPattern", bad}});
    EXPECT_EQ(a.status, 400) << bad;
    EXPECT_EQ(a.type(), "InvalidParameterException") << bad;
    EXPECT_TRUE(a.message().starts_with("Invalid filter pattern") ||
                a.message().starts_with("If a filter pattern starts with"))
        << a.message();
  }
  EXPECT_EQ(call("FilterLogEvents", {{"logGroupName", "/aws/codebuild/app"},
                                     {"logStreamNames", {"0000-aa"}},
                                     {"logStreamNamePrefix", "0000"}})
                .type(),
            "InvalidParameterException");
}

TEST_F(LogDescribeTest, DescribeLogGroupsFiltersAndPages) {
  for (const char* p : {"beta", "alpha", "gamma"}) write_log(p, "0000-aa", "0123456789\n");
  write_log("alpha", "0000-bb", "01234\n");
  json out = ok("DescribeLogGroups", json::object());
  EXPECT_EQ(names(out["logGroups"], "logGroupName"),
            (std::vector<std::string>{"/aws/codebuild/alpha", "/aws/codebuild/beta",
                                      "/aws/codebuild/gamma"}));
  const json& a = out["logGroups"][0];
  EXPECT_EQ(a["arn"], "arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/alpha:*");
  EXPECT_EQ(a["storedBytes"], 17);
  EXPECT_GT(a["creationTime"].get<std::int64_t>(), 0);
  EXPECT_EQ(a["metricFilterCount"], 0);
  EXPECT_FALSE(out.contains("nextToken"));

  out = ok("DescribeLogGroups", {{"logGroupNamePrefix", "/aws/codebuild/b"}});
  EXPECT_EQ(names(out["logGroups"], "logGroupName"),
            std::vector<std::string>{"/aws/codebuild/beta"});
  out = ok("DescribeLogGroups", {{"logGroupNamePattern", "AMM"}});
  EXPECT_EQ(names(out["logGroups"], "logGroupName"),
            std::vector<std::string>{"/aws/codebuild/gamma"});

  out = ok("DescribeLogGroups", {{"limit", 2}});
  EXPECT_EQ(out["logGroups"].size(), 2U);
  ASSERT_TRUE(out.contains("nextToken"));
  out = ok("DescribeLogGroups", {{"limit", 2}, {"nextToken", out["nextToken"]}});
  EXPECT_EQ(names(out["logGroups"], "logGroupName"),
            std::vector<std::string>{"/aws/codebuild/gamma"});
  EXPECT_FALSE(out.contains("nextToken"));

  Answer bad =
      call("DescribeLogGroups", {{"logGroupNamePrefix", "/a"}, {"logGroupNamePattern", "b"}});
  EXPECT_EQ(bad.type(), "InvalidParameterException");
  EXPECT_EQ(call("DescribeLogGroups", {{"limit", 51}}).type(), "InvalidParameterException");
  EXPECT_EQ(call("DescribeLogGroups", {{"nextToken", "junk"}}).type(), "InvalidParameterException");
}

TEST_F(LogDescribeTest, DescribeLogStreamsOrdersAndPages) {
  write_log("app", "0000-cc", "c\n", "0 3000\n");
  write_log("app", "0000-aa", "a\nb\n", "0 1000\n2 9000\n");
  write_log("app", "0000-bb", "b\n", "0 2000\n");
  write_log("app", "0000-dd", "");  // started, nothing printed yet
  const json g = {{"logGroupName", "/aws/codebuild/app"}};
  auto with = [&](json more) {
    json in = g;
    in.update(more);
    return in;
  };
  json out = ok("DescribeLogStreams", g);
  EXPECT_EQ(names(out["logStreams"], "logStreamName"),
            (std::vector<std::string>{"0000-aa", "0000-bb", "0000-cc", "0000-dd"}));
  const json& a = out["logStreams"][0];
  EXPECT_EQ(a["firstEventTimestamp"], 1000);
  EXPECT_EQ(a["lastEventTimestamp"], 9000);
  EXPECT_EQ(a["lastIngestionTime"], 9000);
  EXPECT_EQ(a["storedBytes"], 0);
  EXPECT_EQ(a["arn"],
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/app:log-stream:0000-aa");
  EXPECT_FALSE(out["logStreams"][3].contains("firstEventTimestamp"));

  out = ok("DescribeLogStreams", with({{"orderBy", "LastEventTime"}, {"descending", true}}));
  EXPECT_EQ(names(out["logStreams"], "logStreamName"),
            (std::vector<std::string>{"0000-aa", "0000-cc", "0000-bb", "0000-dd"}));
  out = ok("DescribeLogStreams", with({{"descending", true}, {"limit", 3}}));
  EXPECT_EQ(names(out["logStreams"], "logStreamName"),
            (std::vector<std::string>{"0000-dd", "0000-cc", "0000-bb"}));
  out = ok("DescribeLogStreams",
           with({{"descending", true}, {"limit", 3}, {"nextToken", out["nextToken"]}}));
  EXPECT_EQ(names(out["logStreams"], "logStreamName"), std::vector<std::string>{"0000-aa"});
  EXPECT_FALSE(out.contains("nextToken"));

  out = ok("DescribeLogStreams", with({{"orderBy", "LastEventTime"}, {"limit", 2}}));
  EXPECT_EQ(names(out["logStreams"], "logStreamName"),
            (std::vector<std::string>{"0000-dd", "0000-bb"}));
  out = ok("DescribeLogStreams",
           with({{"orderBy", "LastEventTime"}, {"limit", 2}, {"nextToken", out["nextToken"]}}));
  EXPECT_EQ(names(out["logStreams"], "logStreamName"),
            (std::vector<std::string>{"0000-cc", "0000-aa"}));

  out = ok("DescribeLogStreams", with({{"logStreamNamePrefix", "0000-b"}}));
  EXPECT_EQ(names(out["logStreams"], "logStreamName"), std::vector<std::string>{"0000-bb"});
  const Answer bad = call("DescribeLogStreams",
                          with({{"logStreamNamePrefix", "0000"}, {"orderBy", "LastEventTime"}}));
  EXPECT_EQ(bad.type(), "InvalidParameterException");
  EXPECT_EQ(bad.message(), "Cannot order by LastEventTime with a logStreamNamePrefix.");
  EXPECT_EQ(call("DescribeLogStreams", with({{"orderBy", "Size"}})).type(),
            "InvalidParameterException");
  // FilterLogEvents searches the streams a prefix names.
  const json found = ok("FilterLogEvents", with({{"logStreamNamePrefix", "0000-c"}}));
  EXPECT_EQ(names(found["events"], "logStreamName"), std::vector<std::string>{"0000-cc"});
  EXPECT_EQ(names(found["searchedLogStreams"], "logStreamName"),
            std::vector<std::string>{"0000-cc"});
}

TEST(LogDescribeAccess, ListingsAreCheckedAgainstTheirGroups) {
  const ArnContext ctx{"us-east-1", "123456789012", nullptr};
  const std::string base = "arn:aws:logs:us-east-1:123456789012:log-group:";
  EXPECT_EQ(accesses_of("Logs_20140328.DescribeLogStreams",
                        json{{"logGroupName", "/aws/codebuild/app"}}, ctx),
            (std::vector<Access>{{"logs:DescribeLogStreams", base + "/aws/codebuild/app:*"}}));
  EXPECT_EQ(accesses_of("Logs_20140328.DescribeLogGroups", json::object(), ctx),
            (std::vector<Access>{{"logs:DescribeLogGroups", base + "*"}}));
}

}  // namespace
}  // namespace kiln::api
