#include "exec/process_tree.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "exec/spawn.h"

namespace kiln::exec {
namespace {

using namespace std::chrono_literals;

bool alive(pid_t pid) {
  const auto info = ProcTable::read(pid);
  return info && info->state != 'Z';
}

// Starts `sh -c script` in its own group, output to /dev/null.
pid_t start_shell(const std::string& script) {
  const int null_fd = move_above_stdio(::open("/dev/null", O_RDWR | O_CLOEXEC));
  SpawnRequest req;
  req.program = "/bin/sh";
  req.argv = {"sh", "-c", script};
  req.env = {"PATH=/usr/bin:/bin"};
  req.stdin_fd = null_fd;
  req.output_fd = null_fd;
  req.subreaper = true;
  auto pid = spawn_process(req);
  ::close(null_fd);
  EXPECT_TRUE(pid) << pid.error().describe();
  return pid ? *pid : -1;
}

TEST(ProcTable, SeesThisProcessAndItsParent) {
  auto table = ProcTable::scan();
  ASSERT_TRUE(table) << table.error().describe();
  const ProcInfo* self = table->find(::getpid());
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(self->ppid, ::getppid());
  EXPECT_GT(self->start_time, 0u);
  EXPECT_EQ(ProcTable::read(::getpid())->start_time, self->start_time);
}

TEST(ProcTable, ScanBelowSeesTheSubtreeAndNothingElse) {
  const pid_t shell = start_shell("(sleep 30 & wait) & sleep 30 & wait");
  ASSERT_GT(shell, 0);
  Result<ProcTable> table = fail(ErrorCode::kInternal, "not scanned");
  for (int i = 0; i < 100; ++i) {
    table = ProcTable::scan_below({::getpid()});
    ASSERT_TRUE(table) << table.error().describe();
    if (table->size() >= 5) break;  // us, the shell, the subshell and two sleeps
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(table->size(), 5u);
  ASSERT_EQ(table->children(::getpid()).size(), 1u);
  EXPECT_EQ(table->children(::getpid())[0], shell);
  EXPECT_EQ(table->children(shell).size(), 2u);
  EXPECT_EQ(table->find(::getppid()), nullptr);  // not below the root

  // A child started by another thread is listed under that thread's task while it lives.
  std::atomic<pid_t> from_thread{0};
  std::atomic<bool> scanned{false};
  std::thread starter([&] {
    from_thread = start_shell("sleep 30");
    while (!scanned) std::this_thread::sleep_for(1ms);
  });
  while (from_thread == 0) std::this_thread::sleep_for(1ms);
  const auto with_thread = ProcTable::scan_below({::getpid()});
  scanned = true;
  starter.join();
  ASSERT_TRUE(with_thread);
  EXPECT_EQ(with_thread->children(::getpid()).size(), 2u);
  EXPECT_NE(with_thread->find(from_thread), nullptr);

  EXPECT_TRUE(kill_tree(shell, KillOptions{500ms}).all_gone);
  EXPECT_TRUE(kill_tree(from_thread, KillOptions{500ms}).all_gone);
}

TEST(ProcessSet, FindsDescendantsAndForgetsRecycledPids) {
  const pid_t shell = start_shell("sleep 30 & sleep 30 & wait");
  ASSERT_GT(shell, 0);
  ProcessSet set;
  ASSERT_TRUE(set.add(shell));
  for (int i = 0; i < 100 && set.live().size() < 3; ++i) {
    std::this_thread::sleep_for(10ms);
    set.update(ProcTable::scan().value());
  }
  EXPECT_EQ(set.live().size(), 3u);

  ProcessSet stale;
  stale.add(ProcInfo{shell, 1, shell, 'S', 12345});  // same pid, different start time
  stale.update(ProcTable::scan().value());
  EXPECT_TRUE(stale.empty());

  KillReport report = kill_all(set, KillOptions{500ms});
  EXPECT_TRUE(report.all_gone);
  EXPECT_EQ(report.terminated, 3u);
  EXPECT_FALSE(alive(shell));
  int status;
  EXPECT_EQ(::waitpid(shell, &status, WNOHANG), -1);  // kill_all reaped our child
}

TEST(KillAll, KillsSetsidDaemonsAndSigtermIgnorers) {
  ASSERT_TRUE(acquire_subreaper());
  // The shell forks a daemon that leaves the session, then one that ignores SIGTERM.
  const pid_t shell =
      start_shell("setsid sh -c 'trap \"\" TERM; sleep 30' & (trap '' TERM; sleep 30) & wait");
  ProcessSet set;
  ASSERT_TRUE(set.add(shell));
  for (int i = 0; i < 100 && set.live().size() < 4; ++i) {
    std::this_thread::sleep_for(10ms);
    set.update(ProcTable::scan().value());
  }
  const std::vector<pid_t> members = set.live();
  EXPECT_GE(members.size(), 4u);
  const auto t0 = std::chrono::steady_clock::now();
  KillReport report = kill_all(set, KillOptions{200ms});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_TRUE(report.all_gone);
  EXPECT_GE(report.killed, 2u);
  for (pid_t pid : members) EXPECT_FALSE(alive(pid)) << pid;
  release_subreaper();
}

TEST(KillTree, KillsARootAndItsChildren) {
  const pid_t shell = start_shell("sleep 30 & wait");
  std::this_thread::sleep_for(50ms);
  const KillReport report = kill_tree(shell, KillOptions{500ms});
  EXPECT_TRUE(report.all_gone);
  EXPECT_GE(report.terminated, 1u);
  EXPECT_FALSE(alive(shell));
}

TEST(Spawn, ReportsExecFailureAsAnError) {
  const int null_fd = move_above_stdio(::open("/dev/null", O_RDWR | O_CLOEXEC));
  SpawnRequest req;
  req.program = "/nonexistent/kiln-program";
  req.argv = {"x"};
  req.stdin_fd = null_fd;
  req.output_fd = null_fd;
  auto pid = spawn_process(req);
  ::close(null_fd);
  ASSERT_FALSE(pid);
  EXPECT_EQ(pid.error().message(), "execve /nonexistent/kiln-program: No such file or directory");
}

TEST(Spawn, UnknownUserIsNotFound) {
  auto ids = lookup_user("no-such-user-kiln");
  ASSERT_FALSE(ids);
  EXPECT_EQ(ids.error().code(), ErrorCode::kNotFound);
  auto root = lookup_user("root");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->uid, 0u);
}

}  // namespace
}  // namespace kiln::exec

namespace kiln::exec {
namespace {

// kiln-agent's lookup (KILN_USERS_FROM_FILES): the image's files, without NSS.
class UsersFromFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kiln-users-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "passwd") << "root:x:0:0:root:/root:/bin/bash\n"
                                   << "# a comment line\n"
                                   << "builder:x:1001:1001::/home/builder:/bin/sh\n";
    std::ofstream(dir_ / "group") << "root:x:0:\n"
                                  << "builder:x:1001:\n"
                                  << "docker:x:998:other,builder\n"
                                  << "wheel:x:10:other\n"
                                  << "adm:x:4:builder\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const char* name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

TEST_F(UsersFromFiles, FindsTheUserAndEveryGroupThatListsIt) {
  auto ids = lookup_user_in_files("builder", file("passwd"), file("group"));
  ASSERT_TRUE(ids) << ids.error().describe();
  EXPECT_EQ(ids->uid, 1001u);
  EXPECT_EQ(ids->gid, 1001u);
  EXPECT_EQ(ids->groups, (std::vector<gid_t>{1001, 998, 4}));
}

TEST_F(UsersFromFiles, AnUnknownUserIsNotFound) {
  auto ids = lookup_user_in_files("nobody-here", file("passwd"), file("group"));
  ASSERT_FALSE(ids);
  EXPECT_EQ(ids.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(ids.error().message(), "run-as user does not exist: nobody-here");
}

TEST_F(UsersFromFiles, AMissingFileIsNamed) {
  auto ids = lookup_user_in_files("builder", file("passwd"), file("no-group"));
  ASSERT_FALSE(ids);
  EXPECT_EQ(ids.error().code(), ErrorCode::kIo);
  EXPECT_NE(ids.error().message().find(file("no-group")), std::string::npos);
}

TEST_F(UsersFromFiles, AgreesWithTheSystemForRoot) {
  auto files = lookup_user_in_files("root", "/etc/passwd", "/etc/group");
  auto nss = lookup_user("root");
  ASSERT_TRUE(files);
  ASSERT_TRUE(nss);
  EXPECT_EQ(files->uid, nss->uid);
  EXPECT_EQ(files->gid, nss->gid);
  auto sorted = [](std::vector<gid_t> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(files->groups), sorted(nss->groups));
}

}  // namespace
}  // namespace kiln::exec
