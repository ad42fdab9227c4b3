#include "secrets/masking_sink.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kiln::secrets {
namespace {

// Records every call, so the tests can check what reached the inner sink and in which order.
class RecordingSink final : public logs::LogSink {
 public:
  void agent_line(std::string_view line) override { calls.push_back("line:" + std::string(line)); }
  void output(std::string_view chunk) override { calls.push_back("out:" + std::string(chunk)); }
  void flush() override { calls.emplace_back("flush"); }
  std::vector<std::string> calls;
};

using Calls = std::vector<std::string>;

TEST(MaskingSink, MasksOutput) {
  RecordingSink inner;
  MaskingSink sink(inner);
  ASSERT_TRUE(sink.add_secret("hunter2hunter2"));
  sink.output("token=hunter2hunter2\n");
  EXPECT_EQ(inner.calls, Calls({"out:token=***\n"}));
}

TEST(MaskingSink, RefusesShortSecrets) {
  RecordingSink inner;
  MaskingSink sink(inner);
  EXPECT_FALSE(sink.add_secret("hunter2"));
  sink.output("pw=hunter2\n");
  EXPECT_EQ(inner.calls, Calls({"out:pw=hunter2\n"}));
}

TEST(MaskingSink, SecretSplitAcrossOutputs) {
  RecordingSink inner;
  MaskingSink sink(inner);
  ASSERT_TRUE(sink.add_secret("hunter2hunter2"));
  sink.output("a hunter2hu");
  sink.output("nter2 b\n");
  EXPECT_EQ(inner.calls, Calls({"out:a ", "out:*** b\n"}));
}

TEST(MaskingSink, NothingForwardedWhenEverythingIsHeld) {
  RecordingSink inner;
  MaskingSink sink(inner);
  ASSERT_TRUE(sink.add_secret("hunter2hunter2"));
  sink.output("hunt");
  EXPECT_EQ(inner.calls, Calls());
  EXPECT_EQ(sink.held(), 4U);
}

TEST(MaskingSink, FlushKeepsTheCarry) {
  RecordingSink inner;
  MaskingSink sink(inner);
  ASSERT_TRUE(sink.add_secret("hunter2hunter2"));
  sink.output("a hunter2hu");
  sink.flush();
  sink.output("nter2 b");
  sink.end_output();
  EXPECT_EQ(inner.calls, Calls({"out:a ", "flush", "out:*** b"}));
}

TEST(MaskingSink, EndOutputReleasesTheCarry) {
  RecordingSink inner;
  MaskingSink sink(inner);
  ASSERT_TRUE(sink.add_secret("hunter2hunter2"));
  sink.output("x hunter2");
  sink.end_output();
  sink.end_output();  // nothing left: no empty write
  EXPECT_EQ(inner.calls, Calls({"out:x ", "out:hunter2"}));
  EXPECT_EQ(sink.held(), 0U);
}

TEST(MaskingSink, AgentLineComesAfterHeldOutput) {
  RecordingSink inner;
  MaskingSink sink(inner);
  ASSERT_TRUE(sink.add_secret("hunter2hunter2"));
  sink.output("echo hunt");
  sink.agent_line("[Container] Phase complete: BUILD State: SUCCEEDED");
  sink.output("next hunter2hunter2");
  sink.end_output();
  EXPECT_EQ(inner.calls,
            Calls({"out:echo ", "out:hunt",
                   "line:[Container] Phase complete: BUILD State: SUCCEEDED", "out:next ***"}));
}

TEST(MaskingSink, AgentLineIsMaskedWhole) {
  RecordingSink inner;
  MaskingSink sink(inner);
  ASSERT_TRUE(sink.add_secret("hunter2hunter2"));
  sink.agent_line("[Container] Running command echo hunter2hunter2 AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(inner.calls, Calls({"line:[Container] Running command echo *** ***"}));
}

TEST(MaskingSink, HeldOutputIsNotGluedToTheAgentLine) {
  // The held "hunter2" ends the command's output; it must not combine with the line's text.
  RecordingSink inner;
  MaskingSink sink(inner);
  ASSERT_TRUE(sink.add_secret("hunter2hunter2"));
  sink.output("hunter2");
  sink.agent_line("hunter2 done");
  EXPECT_EQ(inner.calls, Calls({"out:hunter2", "line:hunter2 done"}));
}

TEST(MaskingSink, MaskWholeStrings) {
  RecordingSink inner;
  MaskingSink sink(inner);
  ASSERT_TRUE(sink.add_secret("db-password-1"));
  EXPECT_EQ(sink.mask("DB=db-password-1"), "DB=***");
  EXPECT_EQ(sink.mask("no secret"), "no secret");
  EXPECT_EQ(inner.calls, Calls());
}

TEST(MaskingSink, WorksIntoAMemorySink) {
  logs::MemorySink memory;
  MaskingSink sink(memory);
  ASSERT_TRUE(sink.add_secret("s3cr3t-token"));
  sink.agent_line("[Container] Running command ./deploy.sh");
  sink.output("using s3cr3t");
  sink.output("-token\nok\n");
  sink.end_output();
  sink.agent_line("[Container] Phase complete: BUILD State: SUCCEEDED");
  EXPECT_EQ(memory.text(),
            "[Container] Running command ./deploy.sh\nusing ***\nok\n"
            "[Container] Phase complete: BUILD State: SUCCEEDED\n");
}

}  // namespace
}  // namespace kiln::secrets
