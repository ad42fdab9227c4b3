// The worker protocol both ends use: the command line the scheduler builds and the worker reads
// back, and the records the worker writes and the scheduler reads, over a real pipe.
#include "server/worker_protocol.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "util/unique_fd.h"

namespace kiln::server {
namespace {

using nlohmann::json;

WorkerArgs full_args() {
  WorkerArgs a;
  a.request = "/data/builds/u1.request.json";
  a.log = "/data/logs/app/u1.log";
  a.secrets = "/data/secrets";
  a.keys = "/data/keys.json";
  a.build_user = "kiln-build";
  a.parent = 4242;
  return a;
}

std::vector<std::string> after_worker(std::vector<std::string> argv) {
  argv.erase(argv.begin(), argv.begin() + 2);  // kiln worker
  return argv;
}

std::string parse_error(const std::vector<std::string>& args) {
  auto parsed = parse_worker_args(args);
  EXPECT_FALSE(parsed);
  return parsed ? "" : parsed.error().message();
}

TEST(WorkerArgvTest, NamesEveryFlagAfterKilnWorker) {
  EXPECT_EQ(worker_argv("/usr/bin/kiln", full_args()),
            (std::vector<std::string>{
                "/usr/bin/kiln", "worker", "--request", "/data/builds/u1.request.json", "--log",
                "/data/logs/app/u1.log", "--secrets", "/data/secrets", "--keys", "/data/keys.json",
                "--build-user", "kiln-build", "--parent", "4242"}));
}

TEST(WorkerArgvTest, LeavesOutTheOptionalFlagsThatAreUnset) {
  WorkerArgs a;
  a.request = "r.json";
  a.log = "b.log";
  a.secrets = "s";
  EXPECT_EQ(worker_argv("kiln", a),
            (std::vector<std::string>{"kiln", "worker", "--request", "r.json", "--log", "b.log",
                                      "--secrets", "s"}));
}

TEST(WorkerArgvTest, ReadsBackWhatItBuilds) {
  const WorkerArgs a = full_args();
  auto parsed = parse_worker_args(after_worker(worker_argv("kiln", a)));
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(*parsed, a);

  WorkerArgs minimal;
  minimal.request = "r.json";
  minimal.log = "b.log";
  minimal.secrets = "s";
  parsed = parse_worker_args(after_worker(worker_argv("kiln", minimal)));
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(*parsed, minimal);
}

TEST(WorkerArgvTest, TakesFlagEqualsValue) {
  auto parsed = parse_worker_args({"--request=r.json", "--log=b=c.log", "--secrets", "s"});
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(parsed->request, "r.json");
  EXPECT_EQ(parsed->log, "b=c.log");
}

TEST(WorkerArgvTest, RefusesWhatTheServerNeverSends) {
  EXPECT_EQ(parse_error({"--request", "r", "--log", "l", "--secrets", "s", "--verbose", "1"}),
            "kiln worker: --verbose: unknown flag");
  EXPECT_EQ(parse_error({"--request", "r", "--log", "l", "--secrets"}),
            "kiln worker: --secrets: expects a value");
  EXPECT_EQ(parse_error({"--request", "r", "--secrets", "s"}), "kiln worker: --log: required");
  EXPECT_EQ(parse_error({}), "kiln worker: --request: required");
  EXPECT_EQ(parse_error({"--request", "r", "--log", "l", "--secrets", "s", "--parent", "12x"}),
            "kiln worker: --parent: not a process id: '12x'");
  EXPECT_EQ(parse_error({"--request", "r", "--log", "l", "--secrets", "s", "--parent", "-1"}),
            "kiln worker: --parent: not a process id: '-1'");
  auto parsed = parse_worker_args({"--request", "r", "--log", "l", "--secrets", "s", "x"});
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
}

TEST(WorkerLineTest, ARecordIsOneLineOfBuildJson) {
  const json build = {{"id", "app:u1"}, {"buildStatus", "IN_PROGRESS"}, {"buildComplete", false}};
  const std::string line = record_line(build);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);

  const WorkerLine read = parse_worker_line(std::string_view(line).substr(0, line.size() - 1));
  ASSERT_TRUE(read.record);
  EXPECT_EQ(*read.record, build);
  EXPECT_FALSE(read.final);
  EXPECT_TRUE(read.text.empty());
}

TEST(WorkerLineTest, TheCompleteBuildIsTheFinalRecord) {
  const WorkerLine read =
      parse_worker_line(R"({"id":"app:u1","buildStatus":"SUCCEEDED","buildComplete":true})");
  ASSERT_TRUE(read.record);
  EXPECT_TRUE(read.final);
}

TEST(WorkerLineTest, AnythingElseIsTheWorkersOwnText) {
  for (const std::string text : {"kiln worker: open /x: Permission denied", "[1,2]",
                                 R"({"buildStatus":"FAILED"})", "", "{\"id\":"}) {
    const WorkerLine read = parse_worker_line(text);
    EXPECT_FALSE(read.record) << text;
    EXPECT_EQ(read.text, text);
  }
}

class RecordPipeTest : public ::testing::Test {
 protected:
  RecordPipeTest() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
    read_end_ = UniqueFd(fds[0]);
    write_end_ = UniqueFd(fds[1]);
  }
  UniqueFd read_end_;
  UniqueFd write_end_;
};

TEST_F(RecordPipeTest, TheReaderGetsWhatTheWriterWroteLineByLine) {
  const json first = {{"id", "app:u1"}, {"currentPhase", "BUILD"}, {"buildComplete", false}};
  const json last = {{"id", "app:u1"}, {"buildStatus", "SUCCEEDED"}, {"buildComplete", true}};
  ASSERT_TRUE(write_record(write_end_.get(), first));
  const std::string text = "kiln worker: a warning\n";
  ASSERT_EQ(::write(write_end_.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ASSERT_TRUE(write_record(write_end_.get(), last));
  const std::string tail = "no newline at the end";
  ASSERT_EQ(::write(write_end_.get(), tail.data(), tail.size()), static_cast<ssize_t>(tail.size()));
  write_end_.reset();

  RecordReader reader(read_end_.get());
  auto line = reader.next();
  ASSERT_TRUE(line && *line && (*line)->record);
  EXPECT_EQ(*(*line)->record, first);
  line = reader.next();
  ASSERT_TRUE(line && *line);
  EXPECT_EQ((*line)->text, "kiln worker: a warning");
  line = reader.next();
  ASSERT_TRUE(line && *line && (*line)->record);
  EXPECT_EQ(*(*line)->record, last);
  EXPECT_TRUE((*line)->final);
  line = reader.next();
  ASSERT_TRUE(line && *line);
  EXPECT_EQ((*line)->text, tail);
  line = reader.next();
  ASSERT_TRUE(line);
  EXPECT_FALSE(*line) << "the end of the output";
}

TEST_F(RecordPipeTest, WritingToAServerThatIsGoneFails) {
  read_end_.reset();
  // As in the worker (apps/kiln/signals.h): a closed pipe is an error, not a fatal signal.
  struct sigaction ignore {};
  struct sigaction old {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &old), 0);
  auto w = write_record(write_end_.get(), json{{"id", "app:u1"}});
  ::sigaction(SIGPIPE, &old, nullptr);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), ErrorCode::kIo);
  EXPECT_EQ(w.error().message(), "write the build record: Broken pipe");
}

}  // namespace
}  // namespace kiln::server
