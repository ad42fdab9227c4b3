// DockerClient's container calls against the real dockerd (docker_fixture.h): what
// create_container() asks for is what the daemon applies, a started container has a host pid
// and can be killed, waited for and removed (twice), and each failure the docker executor must
// tell apart has its own ErrorCode and the daemon's words.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "docker/docker_fixture.h"

namespace kiln::docker {
namespace {

namespace fs = std::filesystem;
using testing::DockerFixture;
using testing::kPid;
using testing::TempDir;

class DockerContainerTest : public DockerFixture {};

// Blocks until killed, idle: nothing ever opens the FIFO for writing (rootfs_tar.h).
ContainerSpec waiting_spec() {
  ContainerSpec s;
  s.cmd = {"/bin/sh", "-c", "read x < /wait.fifo"};
  return s;
}

TEST_F(DockerContainerTest, CreateAppliesTheSpec) {
  const TempDir dir;
  ContainerSpec s = waiting_spec();
  s.name = name("spec");
  s.env = {"A=1", "B=two words"};
  s.labels = {{"kiln.build", "b-1"}};
  s.binds = {dir.path().string() + ":/src", dir.path().string() + ":/ro:ro"};
  s.network_mode = "none";
  s.init = true;
  s.memory_bytes = 256LL << 20;
  s.nano_cpus = 1'500'000'000;
  s.pids_limit = 100;
  s.user = "0:0";
  s.working_dir = "/src";
  s.hostname = "kiln-build";
  s.cap_drop = {"NET_RAW"};
  s.cap_add = {"SYS_PTRACE"};
  s.security_opt = {"no-new-privileges"};
  s.tmpfs = {{"/scratch", "size=16m"}};
  auto id = create(s);
  ASSERT_TRUE(id) << id.error().describe();

  const auto doc = raw_inspect(*id);
  ASSERT_TRUE(doc.is_object());
  const auto& h = doc["HostConfig"];
  EXPECT_EQ(h["Binds"], nlohmann::json(s.binds));
  EXPECT_EQ(h["NetworkMode"], "none");
  EXPECT_EQ(h["Init"], true);
  EXPECT_EQ(h["Privileged"], false);
  EXPECT_EQ(h["AutoRemove"], false);
  EXPECT_EQ(h["Memory"], 256LL << 20);
  EXPECT_EQ(h["MemorySwap"], 256LL << 20);
  EXPECT_EQ(h["NanoCpus"], 1'500'000'000);
  EXPECT_EQ(h["PidsLimit"], 100);
  EXPECT_EQ(h["CapDrop"], nlohmann::json({"NET_RAW"}));
  EXPECT_EQ(h["CapAdd"], nlohmann::json({"SYS_PTRACE"}));
  EXPECT_EQ(h["SecurityOpt"], nlohmann::json({"no-new-privileges"}));
  EXPECT_EQ(h["Tmpfs"]["/scratch"], "size=16m");
  const auto& c = doc["Config"];
  EXPECT_EQ(c["Env"], nlohmann::json({"A=1", "B=two words"}));
  EXPECT_EQ(c["User"], "0:0");
  EXPECT_EQ(c["WorkingDir"], "/src");
  EXPECT_EQ(c["Hostname"], "kiln-build");
  EXPECT_EQ(doc["Name"], "/" + s.name);

  auto state = client_->inspect_container(*id);
  ASSERT_TRUE(state) << state.error().describe();
  EXPECT_EQ(state->status, "created");
  EXPECT_FALSE(state->running);
  EXPECT_EQ(state->pid, 0);

  auto listed = client_->list_containers({{"kiln.test", kPid}, {"kiln.build", "b-1"}});
  ASSERT_TRUE(listed) << listed.error().describe();
  ASSERT_EQ(listed->size(), 1U);
  EXPECT_EQ((*listed)[0].id, *id);
  EXPECT_EQ((*listed)[0].names, std::vector<std::string>{"/" + s.name});
  EXPECT_EQ((*listed)[0].labels.at("kiln.build"), "b-1");
  EXPECT_EQ((*listed)[0].state, "created");

  auto none = client_->list_containers({{"kiln.test", kPid}, {"kiln.build", "b-2"}});
  ASSERT_TRUE(none) << none.error().describe();
  EXPECT_TRUE(none->empty());
  auto any_value = client_->list_containers({{"kiln.test", kPid}, {"kiln.build", ""}});
  ASSERT_TRUE(any_value) << any_value.error().describe();
  EXPECT_EQ(any_value->size(), 1U);
  auto running = client_->list_containers({{"kiln.test", kPid}}, /*all=*/false);
  ASSERT_TRUE(running) << running.error().describe();
  EXPECT_TRUE(running->empty());
}

TEST_F(DockerContainerTest, StartInspectKillRemove) {
  ContainerSpec s = waiting_spec();
  s.name = name("run");
  auto id = create(s);
  ASSERT_TRUE(id) << id.error().describe();
  auto started = client_->start(*id);
  ASSERT_TRUE(started) << started.error().describe();
  EXPECT_TRUE(client_->start(*id)) << "starting a running container is fine";

  auto state = client_->inspect_container(*id);
  ASSERT_TRUE(state) << state.error().describe();
  EXPECT_TRUE(state->running);
  EXPECT_EQ(state->status, "running");
  EXPECT_GT(state->pid, 0);
  EXPECT_TRUE(fs::exists("/proc/" + std::to_string(state->pid))) << "a host pid";

  auto killed = client_->kill(*id);
  ASSERT_TRUE(killed) << killed.error().describe();
  auto code = client_->wait(*id, 30'000);
  ASSERT_TRUE(code) << code.error().describe();
  EXPECT_EQ(*code, 128 + 9);
  state = client_->inspect_container(*id);
  ASSERT_TRUE(state) << state.error().describe();
  EXPECT_FALSE(state->running);
  EXPECT_EQ(state->status, "exited");
  EXPECT_EQ(state->exit_code, 137);
  EXPECT_FALSE(state->oom_killed);
  EXPECT_TRUE(client_->kill(*id)) << "killing a stopped container is fine";

  auto removed = client_->remove(*id);
  ASSERT_TRUE(removed) << removed.error().describe();
  EXPECT_TRUE(client_->remove(*id)) << "removing twice is fine";
  auto gone = client_->inspect_container(*id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(gone.error().describe().starts_with("docker: inspect container " + *id + ": 404: "))
      << gone.error().describe();
  auto kill_gone = client_->kill(*id);
  ASSERT_FALSE(kill_gone);
  EXPECT_EQ(kill_gone.error().code(), ErrorCode::kNotFound);
}

TEST_F(DockerContainerTest, ExitCodeAndBindMount) {
  const TempDir dir;
  ContainerSpec s;
  s.name = name("exit");
  s.entrypoint = std::vector<std::string>{"/bin/sh", "-c"};
  s.cmd = {"echo \"$GREETING\" > /out/said; exit 3"};
  s.env = {"GREETING=hello from the container"};
  s.binds = {dir.path().string() + ":/out"};
  auto id = create(s);
  ASSERT_TRUE(id) << id.error().describe();
  ASSERT_TRUE(client_->start(*id));
  auto code = client_->wait(*id, 30'000);
  ASSERT_TRUE(code) << code.error().describe();
  EXPECT_EQ(*code, 3);
  std::ifstream said(dir.path() / "said");
  std::stringstream text;
  text << said.rdbuf();
  EXPECT_EQ(text.str(), "hello from the container\n");
  auto state = client_->inspect_container(*id);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->exit_code, 3);
}

TEST_F(DockerContainerTest, WaitTimesOutWithoutTouchingTheContainer) {
  auto id = create(waiting_spec());
  ASSERT_TRUE(id) << id.error().describe();
  ASSERT_TRUE(client_->start(*id));
  auto code = client_->wait(*id, 300);
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code(), ErrorCode::kTimeout) << code.error().describe();
  auto state = client_->inspect_container(*id);
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->running);
}

TEST_F(DockerContainerTest, NameConflictIsAlreadyExists) {
  ContainerSpec s = waiting_spec();
  s.name = name("twice");
  auto first = create(s);
  ASSERT_TRUE(first) << first.error().describe();
  auto second = create(s);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_TRUE(
      second.error().describe().starts_with("docker: create container: 409: Conflict. The "
                                            "container name \"/" +
                                            s.name + "\" is already in use"))
      << second.error().describe();
}

TEST_F(DockerContainerTest, MissingImageIsNotFound) {
  ContainerSpec s = waiting_spec();
  s.image = "kiln-no-such-image-" + kPid + ":1";
  auto id = create(s);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(id.error().describe(), "docker: create container: 404: No such image: " + s.image);
}

TEST_F(DockerContainerTest, StartFailureCarriesTheDaemonsMessage) {
  ContainerSpec s;
  s.cmd = {"/no/such/program"};
  auto id = create(s);
  ASSERT_TRUE(id) << id.error().describe();
  auto started = client_->start(*id);
  ASSERT_FALSE(started);
  const std::string text = started.error().describe();
  EXPECT_TRUE(text.starts_with("docker: start container " + *id + ": ")) << text;
  EXPECT_NE(text.find("/no/such/program"), std::string::npos) << text;
  auto state = client_->inspect_container(*id);
  ASSERT_TRUE(state);
  EXPECT_FALSE(state->running);
  EXPECT_NE(state->error.find("/no/such/program"), std::string::npos) << state->error;
}

}  // namespace
}  // namespace kiln::docker
