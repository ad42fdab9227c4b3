#include "sandbox/cgroup.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "exec/process_tree.h"
#include "sandbox/cgroup_fs.h"
#include "sandbox_test_util.h"
#include "util/files.h"

namespace kiln::sandbox {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The value of `file` in whichever of the cgroup's directories has it, trimmed.
std::optional<std::string> control(const Cgroup& cg, const std::string& file) {
  for (const fs::path& dir : cg.dirs()) {
    if (!fs::exists(dir / file)) continue;
    auto text = read_file(dir / file);
    if (!text) return std::nullopt;
    while (!text->empty() && text->back() == '\n') text->pop_back();
    return *text;
  }
  return std::nullopt;
}

// Reaps `pid` and returns the signal that ended it (0 if it exited).
int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

// Orphans of the test's children come back to us, so every process is reaped by the test.
class CgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = testing::cgroups_unavailable()) KILN_SANDBOX_UNAVAILABLE(*why);
    ASSERT_TRUE(exec::acquire_subreaper());
    subreaper_ = true;
  }
  void TearDown() override {
    if (subreaper_) exec::release_subreaper();
  }
  bool subreaper_ = false;
};

TEST(CgroupLayout, HybridMachineUsesTheV1Controllers) {
  const auto layout = cgroupfs::parse_mountinfo(
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
  EXPECT_EQ(layout.mode, cgroupfs::Mode::kV1);
  ASSERT_EQ(layout.hierarchies.size(), 3u);
  EXPECT_EQ(layout.hierarchies[0].mount, "/sys/fs/cgroup/cpu");
  EXPECT_EQ(layout.hierarchies[0].controllers, cgroupfs::kCpu);
  EXPECT_EQ(layout.hierarchies[1].mount, "/sys/fs/cgroup/memory");
  EXPECT_EQ(layout.hierarchies[2].controllers, cgroupfs::kPids);
}

TEST(CgroupLayout, CoMountedAndDuplicatedHierarchiesCountOnce) {
  const auto layout = cgroupfs::parse_mountinfo(
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
      "35 31 0:32 / /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory\n"
      "90 31 0:32 / /other/memory rw - cgroup cgroup rw,memory\n");
  EXPECT_EQ(layout.mode, cgroupfs::Mode::kV1);
  ASSERT_EQ(layout.hierarchies.size(), 2u);
  EXPECT_EQ(layout.hierarchies[0].mount, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(layout.hierarchies[0].controllers, cgroupfs::kCpu);
  EXPECT_EQ(layout.hierarchies[1].mount, "/sys/fs/cgroup/mem ory");
}

TEST(CgroupLayout, PureV2AndNone) {
  const auto v2 = cgroupfs::parse_mountinfo(
      "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
      "rw,nsdelegate,memory_recursiveprot\n");
  EXPECT_EQ(v2.mode, cgroupfs::Mode::kV2);
  ASSERT_EQ(v2.hierarchies.size(), 1u);
  EXPECT_EQ(v2.hierarchies[0].mount, "/sys/fs/cgroup");
  EXPECT_EQ(cgroupfs::parse_mountinfo("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n").mode,
            cgroupfs::Mode::kNone);
}

TEST(CgroupName, OwnedNameStartsWithOurPidAndIsSanitized) {
  EXPECT_EQ(owned_name("feat/x y:1"), std::to_string(::getpid()) + "-feat_x_y_1");
  EXPECT_EQ(owned_name("a.b-c_D9"), std::to_string(::getpid()) + "-a.b-c_D9");
}

TEST(CgroupName, CreateRejectsPathCharacters) {
  for (const std::string bad : {"", "..", "a/b", "a b"}) {
    auto cg = Cgroup::create(bad, {});
    ASSERT_FALSE(cg) << bad;
    EXPECT_EQ(cg.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST_F(CgroupTest, CreateWritesTheLimitsAndRemoveDeletesTheDirectories) {
  std::cout << "cgroup mode: " << Cgroup::cgroup_mode() << "\n";
  auto cg = Cgroup::create(owned_name("limits"), {64u << 20, 500, 64});
  ASSERT_TRUE(cg) << cg.error().describe();
  for (const std::string& w : cg->warnings()) std::cout << "warning: " << w << "\n";
  ASSERT_FALSE(cg->dirs().empty());
  for (const fs::path& dir : cg->dirs()) {
    EXPECT_TRUE(fs::is_directory(dir)) << dir;
    EXPECT_EQ(dir.parent_path().filename(), "kiln") << dir;
  }
  EXPECT_EQ(cg->procs_fds().size(), cg->dirs().size());
  if (Cgroup::cgroup_mode() == "v2") {
    EXPECT_EQ(control(*cg, "memory.max"), "67108864");
    EXPECT_EQ(control(*cg, "memory.swap.max").value_or("0"), "0");
    EXPECT_EQ(control(*cg, "cpu.max"), "50000 100000");
  } else {
    EXPECT_EQ(control(*cg, "memory.limit_in_bytes"), "67108864");
    EXPECT_EQ(control(*cg, "memory.memsw.limit_in_bytes").value_or("67108864"), "67108864");
    EXPECT_EQ(control(*cg, "cpu.cfs_period_us"), "100000");
    EXPECT_EQ(control(*cg, "cpu.cfs_quota_us"), "50000");
  }
  EXPECT_EQ(control(*cg, "pids.max"), "64");

  EXPECT_FALSE(Cgroup::create(cg->name(), {})) << "a second cgroup of the same name";
  const std::vector<fs::path> dirs = cg->dirs();
  ASSERT_TRUE(cg->remove());
  for (const fs::path& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_TRUE(cg->dirs().empty());
  EXPECT_TRUE(cg->remove()) << "remove is idempotent";
}

TEST_F(CgroupTest, TheDestructorRemoves) {
  std::vector<fs::path> dirs;
  {
    auto cg = Cgroup::create(owned_name("dtor"), {});
    ASSERT_TRUE(cg) << cg.error().describe();
    Cgroup moved = std::move(*cg);
    dirs = moved.dirs();
    EXPECT_TRUE(cg->dirs().empty()) << "the moved-from object owns nothing";
  }
  for (const fs::path& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
}

TEST_F(CgroupTest, AChildJoinsByWritingZeroAndKillAllEndsItsTree) {
  auto cg = Cgroup::create(owned_name("join"), {0, 0, 32});
  ASSERT_TRUE(cg) << cg.error().describe();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const std::vector<int> fds = cg->procs_fds();
  const pid_t child = ::fork();
  if (child == 0) {
    if (join_cgroup_fds(fds.data(), fds.size()) != 0) ::_exit(3);
    const pid_t grandchild = ::fork();  // inherits the cgroup
    if (grandchild == 0) {
      ::pause();
      ::_exit(0);
    }
    [[maybe_unused]] auto n = ::write(ready[1], &grandchild, sizeof grandchild);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  pid_t grandchild = 0;
  ASSERT_EQ(::read(ready[0], &grandchild, sizeof grandchild), ssize_t(sizeof grandchild));
  ::close(ready[0]);

  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().describe();
  EXPECT_EQ(*pids, (std::vector<pid_t>{std::min(child, grandchild), std::max(child, grandchild)}));
  auto membership = read_file("/proc/" + std::to_string(child) + "/cgroup");
  ASSERT_TRUE(membership);
  EXPECT_NE(membership->find("/kiln/" + cg->name()), std::string::npos) << *membership;

  cg->kill_all();
  EXPECT_EQ(reap(child), SIGKILL);
  EXPECT_EQ(reap(grandchild), SIGKILL);
  pids = cg->pids();
  ASSERT_TRUE(pids);
  EXPECT_TRUE(pids->empty());
  EXPECT_TRUE(cg->remove());
}

// On a hybrid machine the cgroup2 hierarchy has no controllers but has cgroup.kill: enough to
// run the v2 code for creating, joining, killing and removing, which a v1 machine otherwise
// never executes.
TEST_F(CgroupTest, TheV2CodeOnAHybridMachinesCgroup2Hierarchy) {
  if (Cgroup::cgroup_mode() != "v1") GTEST_SKIP() << "a v2 machine runs the v2 code everywhere";
  std::optional<fs::path> unified;
  std::istringstream mounts(read_file("/proc/self/mountinfo").value_or(""));
  for (std::string line; std::getline(mounts, line) && !unified;) {
    if (line.find(" - cgroup2 ") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string field;
    for (int i = 0; i < 5; ++i) fields >> field;  // the fifth is the mount point
    unified = field;
  }
  if (!unified) GTEST_SKIP() << "no cgroup2 hierarchy beside the v1 controllers";
  cgroupfs::Layout layout{cgroupfs::Mode::kV2, {{*unified, 0}}};
  auto cg = Cgroup::create(owned_name("v2"), {32u << 20, 500, 10}, layout);
  ASSERT_TRUE(cg) << cg.error().describe();
  ASSERT_EQ(cg->dirs(), std::vector<fs::path>{*unified / "kiln" / cg->name()});
  EXPECT_EQ(cg->warnings(),
            (std::vector<std::string>{"no memory controller: memory limit not applied",
                                      "no cpu controller: cpu limit not applied",
                                      "no pids controller: pids limit not applied"}));
  EXPECT_EQ(cg->oom_kills().error().code(), ErrorCode::kNotFound);

  const std::vector<int> fds = cg->procs_fds();
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    if (join_cgroup_fds(fds.data(), fds.size()) != 0) ::_exit(3);
    if (::fork() == 0) {
      ::pause();
      ::_exit(0);
    }
    [[maybe_unused]] auto n = ::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().describe();
  ASSERT_EQ(pids->size(), 2u);
  EXPECT_TRUE(fs::exists(cg->dirs()[0] / "cgroup.kill")) << "kernels before 5.14 lack it";
  cg->kill_all();
  for (pid_t pid : *pids) EXPECT_EQ(reap(pid), SIGKILL) << pid;
  const std::vector<fs::path> dirs = cg->dirs();
  EXPECT_TRUE(cg->remove());
  EXPECT_FALSE(fs::exists(dirs[0]));
}

TEST_F(CgroupTest, AnOomKillIsCounted) {
  auto cg = Cgroup::create(owned_name("oom"), {32u << 20, 0, 0});
  ASSERT_TRUE(cg) << cg.error().describe();
  auto before = cg->oom_kills();
  ASSERT_TRUE(before) << before.error().describe();
  EXPECT_EQ(*before, 0u);
  const std::vector<int> fds = cg->procs_fds();
  const pid_t child = ::fork();
  if (child == 0) {
    if (join_cgroup_fds(fds.data(), fds.size()) != 0) ::_exit(3);
    const std::size_t size = std::size_t{200} << 20;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) ::_exit(4);
    for (std::size_t i = 0; i < size; i += 4096) static_cast<volatile char*>(p)[i] = 1;
    ::_exit(0);  // survived: the limit did not hold
  }
  EXPECT_EQ(reap(child), SIGKILL);
  auto after = cg->oom_kills();
  ASSERT_TRUE(after) << after.error().describe();
  EXPECT_GE(*after, 1u);
}

TEST_F(CgroupTest, SweepRemovesTheCgroupsOfDeadOwnersOnly) {
  auto mine = Cgroup::create(owned_name("sweep-alive"), {});
  ASSERT_TRUE(mine) << mine.error().describe();
  auto unowned = Cgroup::create("kiln-test-not-an-owned-name", {});
  ASSERT_TRUE(unowned) << unowned.error().describe();

  // A "crashed Kiln": creates its cgroup, starts a member, and dies without cleaning up.
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t crashed = ::fork();
  if (crashed == 0) {
    auto cg = Cgroup::create(owned_name("sweep-dead"), {});
    if (!cg) ::_exit(3);
    const std::vector<int> fds = cg->procs_fds();
    const pid_t member = ::fork();
    if (member == 0) {
      if (join_cgroup_fds(fds.data(), fds.size()) != 0) ::_exit(3);
      const pid_t self = ::getpid();
      [[maybe_unused]] auto n = ::write(report[1], &self, sizeof self);
      ::pause();
      ::_exit(0);
    }
    ::_exit(0);  // no destructors: the cgroup stays
  }
  // A live Kiln: must be left alone while it lives.
  int hold[2];
  ASSERT_EQ(::pipe(hold), 0);
  const pid_t live = ::fork();
  if (live == 0) {
    ::close(hold[1]);
    auto cg = Cgroup::create(owned_name("sweep-live"), {});
    if (!cg) ::_exit(3);
    const pid_t self = 0;
    [[maybe_unused]] auto n = ::write(report[1], &self, sizeof self);
    char c;
    [[maybe_unused]] auto m = ::read(hold[0], &c, 1);
    ::_exit(0);  // dies without cleaning up, too
  }
  ::close(report[1]);
  ::close(hold[0]);
  pid_t member = 0, ignored = 0;
  ASSERT_EQ(::read(report[0], &member, sizeof member), ssize_t(sizeof member));
  ASSERT_EQ(::read(report[0], &ignored, sizeof ignored), ssize_t(sizeof ignored));
  if (member == 0) std::swap(member, ignored);
  ::close(report[0]);
  EXPECT_EQ(reap(crashed), 0);

  auto in_each = [&](const std::string& name) {
    std::vector<fs::path> dirs;
    for (const fs::path& d : mine->dirs()) dirs.push_back(d.parent_path() / name);
    return dirs;
  };
  const auto dead_dirs = in_each(std::to_string(crashed) + "-sweep-dead");
  const auto live_dirs = in_each(std::to_string(live) + "-sweep-live");
  for (const fs::path& d : dead_dirs) ASSERT_TRUE(fs::exists(d)) << d;
  for (const fs::path& d : live_dirs) ASSERT_TRUE(fs::exists(d)) << d;

  auto swept = sweep_leftover_cgroups();
  ASSERT_TRUE(swept) << swept.error().describe();
  EXPECT_GE(*swept, 1u);
  for (const fs::path& d : dead_dirs) EXPECT_FALSE(fs::exists(d)) << d;
  EXPECT_EQ(reap(member), SIGKILL) << "the leftover's member is killed first";
  for (const fs::path& d : live_dirs) EXPECT_TRUE(fs::exists(d)) << d;
  for (const fs::path& d : mine->dirs()) EXPECT_TRUE(fs::exists(d)) << d;
  for (const fs::path& d : unowned->dirs()) EXPECT_TRUE(fs::exists(d)) << d;

  ::close(hold[1]);  // the live owner now dies, and its cgroup becomes a leftover
  EXPECT_EQ(reap(live), 0);
  swept = sweep_leftover_cgroups();
  ASSERT_TRUE(swept) << swept.error().describe();
  EXPECT_GE(*swept, 1u);
  for (const fs::path& d : live_dirs) EXPECT_FALSE(fs::exists(d)) << d;
}

}  // namespace
}  // namespace kiln::sandbox
