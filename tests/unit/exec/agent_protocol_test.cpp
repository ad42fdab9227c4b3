// The agent wire format (exec/agent_protocol.h) and the container layout (exec/agent_executor.h).
// The agent itself runs in the e2e suites on the sandbox and docker executors.
#include "exec/agent_protocol.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "exec/agent_executor.h"
#include "exec/compute.h"

namespace kiln::exec {
namespace {

using agent::FrameType;
using Clock = std::chrono::steady_clock;

struct SocketPair {
  int a = -1, b = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a = fds[0];
    b = fds[1];
  }
  ~SocketPair() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
  }
};

TEST(AgentProtocol, FramesArriveWholeAndInOrder) {
  SocketPair s;
  const std::string big(300000, 'x');  // larger than one read and than the socket buffer
  std::thread writer([&] {
    ASSERT_TRUE(agent::write_frame(s.a, FrameType::kOutput, "hello"));
    ASSERT_TRUE(agent::write_frame(s.a, FrameType::kOutput, big));
    ASSERT_TRUE(agent::write_frame(s.a, FrameType::kDone, ""));
  });
  agent::FrameReader reader(s.b);
  auto f1 = reader.read_blocking(5000);
  auto f2 = reader.read_blocking(5000);
  auto f3 = reader.read_blocking(5000);
  writer.join();
  ASSERT_TRUE(f1 && f2 && f3);
  EXPECT_EQ(f1->payload, "hello");
  EXPECT_EQ(f2->payload, big);
  EXPECT_EQ(f3->type, FrameType::kDone);
  EXPECT_TRUE(f3->payload.empty());
}

TEST(AgentProtocol, ClosedPeerAndTimeoutAreErrors) {
  SocketPair s;
  agent::FrameReader reader(s.b);
  auto t = reader.read_blocking(10);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), ErrorCode::kTimeout);
  ::close(s.a);
  s.a = -1;
  auto c = reader.read_blocking(1000);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), ErrorCode::kIo);
}

TEST(AgentProtocol, OversizedFrameIsRefused) {
  SocketPair s;
  const char header[] = {'O', 0x7f, 0x00, 0x00, 0x00};  // 2 GiB
  ASSERT_EQ(::write(s.a, header, sizeof header), 5);
  agent::FrameReader reader(s.b);
  auto f = reader.read_blocking(1000);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), ErrorCode::kParse);
}

TEST(AgentProtocol, CommandRoundTripKeepsStateAndTimeLeft) {
  CommandRequest req;
  req.text = "echo \"$X\"";
  req.shell = "bash";
  req.state.cwd = "/codebuild/output/src1/src";
  req.state.env = {{"X", "a b"}, {"EMPTY", ""}};
  req.run_as = "nobody";
  const auto now = Clock::now();
  req.deadline = now + std::chrono::seconds(90);
  auto back = agent::decode_command(agent::encode_command(req, now), now);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->text, req.text);
  EXPECT_EQ(back->shell, "bash");
  EXPECT_EQ(back->state.cwd, req.state.cwd);
  EXPECT_EQ(back->state.env, req.state.env);
  EXPECT_EQ(back->run_as, std::optional<std::string>("nobody"));
  EXPECT_EQ(back->deadline, now + std::chrono::seconds(90));

  CommandRequest forever;
  auto f = agent::decode_command(agent::encode_command(forever, now), now);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->deadline, Clock::time_point::max());
  EXPECT_FALSE(f->run_as);
}

TEST(AgentProtocol, ResultAndErrorRoundTrip) {
  CommandResult r;
  r.end = CommandResult::End::kTimedOut;
  r.exit_code = 9;
  r.state.cwd = "/tmp";
  r.tail = std::string("bad utf8 \xff end");  // replaced, not thrown
  r.diagnosis = "oom";
  auto back = agent::decode_result(agent::encode_result(r));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->end, CommandResult::End::kTimedOut);
  EXPECT_EQ(back->exit_code, 9);
  EXPECT_EQ(back->state.cwd, "/tmp");
  EXPECT_EQ(back->diagnosis, "oom");
  EXPECT_NE(back->tail.find("end"), std::string::npos);

  EXPECT_FALSE(agent::decode_result("{\"end\": 99}"));
  EXPECT_FALSE(agent::decode_result("not json"));
  const Error e = agent::decode_error(agent::encode_error(Error(ErrorCode::kNotFound, "gone")));
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_EQ(e.message(), "gone");
  EXPECT_EQ(agent::decode_error("{\"code\": 1000}").code(), ErrorCode::kInternal);
}

TEST(ContainerLayout, MapsTheBuildFolderAndHidesNothingElse) {
  PrepareRequest req{"proj:1234", "/data/builds/u/src", "/data/builds/u/exec", "img", {}};
  req.shared_dirs = {"/cache/custom/proj"};
  auto l = ContainerLayout::make(req, "/usr/bin/kiln-agent");
  EXPECT_EQ(l.root_inside.parent_path(), "/codebuild/output");
  EXPECT_EQ(l.workspace_inside(), l.root_inside / "src");
  EXPECT_EQ(l.map("/data/builds/u/src/a/b"), l.root_inside / "src/a/b");
  EXPECT_EQ(l.map("/data/builds/u/git-credentials"), l.root_inside / "git-credentials");
  EXPECT_EQ(l.map("/data/builds/u"), l.root_inside);
  EXPECT_TRUE(l.map("/data/builds/other").empty());
  EXPECT_TRUE(l.map("/data/builds/u/../v").empty());
  l.ipc_host = "/tmp/ipc";
  const auto b = l.binds();
  ASSERT_EQ(b.size(), 4u);  // build folder, shared cache, socket folder, agent
  EXPECT_EQ(b[0].host, "/data/builds/u");
  EXPECT_EQ(b[1].inside, "/cache/custom/proj");
  EXPECT_TRUE(b[3].read_only);
}

TEST(ContainerLayout, InPlaceWorkspaceIsMountedOverSrc) {
  PrepareRequest req{"p:1", "/home/me/project", "/tmp/kiln-build-x/exec", "img", {}};
  auto l = ContainerLayout::make(req, "/a");
  EXPECT_EQ(l.map("/home/me/project/f"), l.workspace_inside() / "f");
  EXPECT_EQ(l.map("/tmp/kiln-build-x/src_two"), l.root_inside / "src_two");
  const auto b = l.binds();
  EXPECT_EQ(b[1].host, "/home/me/project");
  EXPECT_EQ(b[1].inside, l.workspace_inside());
}

TEST(ComputeLimits, CodeBuildTable) {
  auto small = compute_limits("BUILD_GENERAL1_SMALL");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->memory_bytes, 3000000000u);
  EXPECT_EQ(small->vcpus, 2u);
  EXPECT_EQ(small->describe(), "3 GB, 2 vCPUs");
  EXPECT_EQ(compute_limits("BUILD_GENERAL1_LARGE")->vcpus, 8u);
  EXPECT_EQ(compute_limits("BUILD_LAMBDA_1GB")->describe(), "1 GiB, 2 vCPUs");
  EXPECT_EQ(compute_limits("ATTRIBUTE_BASED_COMPUTE")->describe(), "no memory or CPU limit");
  EXPECT_FALSE(compute_limits("BUILD_GENERAL9"));
}

}  // namespace
}  // namespace kiln::exec
