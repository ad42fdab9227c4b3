// Absolute paths of a build's environment read and written from the host (env_tree.h), and the
// collector's use of them (collect.h), against a folder standing in for the environment's root:
// nothing a symlink or `..` names may reach past it (docs/security.md).
#include "artifacts/env_tree.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifacts/collect.h"
#include "artifacts/temp_tree.h"
#include "artifacts/zip_writer.h"

namespace kiln::artifacts {
namespace {

namespace fs = std::filesystem;
using kiln::testing::read_file;
using kiln::testing::TempTree;
using Names = std::vector<std::string>;

class EnvTreeTest : public ::testing::Test {
 protected:
  EnvTreeTest() {
    env_ = t_.dir("env");
    host_secret_ = t_.file("host/secret.txt", "HOST-SECRET");
    root_ = UniqueFd(::open(env_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  fs::path dest(const std::string& name) { return t_.dir("out") / name; }

  TempTree t_;
  fs::path env_;
  fs::path host_secret_;
  UniqueFd root_;
};

TEST_F(EnvTreeTest, AbsoluteSymlinksAndDotDotResolveInsideTheRoot) {
  t_.file("env/tmp/real/a.txt", "in env");
  t_.link("env/tmp/link", "/tmp/real");  // absolute: the environment's /tmp/real
  auto c = copy_out(root_.get(), "/tmp/link", dest("c"));
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(read_file(dest("c") / "a.txt"), "in env");
  EXPECT_EQ(c->files, 1u);

  // `..` stops at the root: the host's /etc, which exists, is never reached.
  auto up = open_in_root(root_.get(), "/../../../../etc", O_RDONLY | O_DIRECTORY);
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().code(), ErrorCode::kNotFound);
  // A link to a host folder's path names that path inside the environment.
  t_.link("env/tmp/host", host_secret_.parent_path().string());
  auto host = copy_out(root_.get(), "/tmp/host", dest("h"));
  ASSERT_FALSE(host);
  EXPECT_EQ(host.error().code(), ErrorCode::kNotFound);
}

TEST_F(EnvTreeTest, LinksInsideTheTreeAreCopiedAsLinksNeverFollowed) {
  t_.file("env/out/ok.txt", "ok");
  t_.link("env/out/leak.txt", host_secret_.string());
  t_.link("env/out/climb", "../../../../../" + host_secret_.string());
  auto c = copy_out(root_.get(), "/out", dest("c"));
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_TRUE(fs::is_symlink(dest("c") / "leak.txt"));
  EXPECT_EQ(fs::read_symlink(dest("c") / "leak.txt"), host_secret_);
  EXPECT_TRUE(fs::is_symlink(dest("c") / "climb"));
  EXPECT_EQ(c->bytes, 2u);  // only ok.txt's content was read
}

TEST_F(EnvTreeTest, FilesAreCopiedOnlyWhenAsked) {
  t_.file("env/root/.npmrc", "registry");
  auto folder_only = copy_out(root_.get(), "/root/.npmrc", dest(".npmrc"));
  ASSERT_FALSE(folder_only);
  EXPECT_EQ(folder_only.error().code(), ErrorCode::kNotFound);
  auto file = copy_out(root_.get(), "/root/.npmrc", dest(".npmrc"), true);
  ASSERT_TRUE(file) << file.error().describe();
  EXPECT_EQ(read_file(dest(".npmrc")), "registry");
  auto missing = copy_out(root_.get(), "/nowhere", dest("x"), true);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

TEST_F(EnvTreeTest, CopyInReplacesPlantedLinksInsteadOfWritingThroughThem) {
  t_.file("cached/repo/settings.xml", "cached settings");
  t_.file("cached/repo/lib/a.jar", "jar");
  // The build left links where the cache writes: to a host file, and a folder to a host folder.
  t_.link("env/root/.m2/repo/settings.xml", host_secret_.string());
  t_.link("env/root/.m2/repo/lib", host_secret_.parent_path().string());
  auto c = copy_in(t_.path("cached"), root_.get(), "/root/.m2");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(read_file(host_secret_), "HOST-SECRET");
  EXPECT_FALSE(fs::exists(host_secret_.parent_path() / "a.jar"));
  EXPECT_FALSE(fs::is_symlink(env_ / "root/.m2/repo/settings.xml"));
  EXPECT_EQ(read_file(env_ / "root/.m2/repo/settings.xml"), "cached settings");
  EXPECT_EQ(read_file(env_ / "root/.m2/repo/lib/a.jar"), "jar");
}

// Kiln copies as root: on procfs and sysfs that would read host memory (/proc/kcore) or write
// host-wide settings (/proc/sys/kernel), whichever namespace mounted them. The host's own `/`
// stands in for an environment that has them mounted.
TEST_F(EnvTreeTest, TheKernelsFileSystemsAreNeverCopiedFromOrInto) {
  UniqueFd host(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(host);
  int n = 0;
  for (const char* abs : {"/proc/sys/kernel", "/sys/kernel", "/proc/self/status"}) {
    const fs::path to = t_.dir("out" + std::to_string(++n)) / fs::path(abs).filename();
    auto c = copy_out(host.get(), abs, to, /*files_too=*/true);
    ASSERT_FALSE(c) << abs;
    EXPECT_EQ(c.error().code(), ErrorCode::kPermission) << c.error().describe();
  }
  // A name procfs would refuse to create anyway, so a broken check fails the test harmlessly.
  t_.file("cached/kiln_test_not_a_sysctl", "1");
  auto in = copy_in(t_.path("cached"), host.get(), "/proc/sys/kernel");
  ASSERT_FALSE(in);
  EXPECT_EQ(in.error().code(), ErrorCode::kPermission) << in.error().describe();
}

TEST_F(EnvTreeTest, CopyInCreatesMissingFoldersInsideTheRoot) {
  t_.file("cached/f", "v");
  // A parent that is an absolute link to a host folder: created at that path in the
  // environment, never in the host folder.
  t_.link("env/var", host_secret_.parent_path().string());
  // Dangling in the environment: refused, not created on the host.
  auto dangling = copy_in(t_.path("cached"), root_.get(), "/var/cache/x");
  EXPECT_FALSE(dangling);
  EXPECT_FALSE(fs::exists(host_secret_.parent_path() / "cache"));
  // Present in the environment: followed there.
  t_.dir("env" + host_secret_.parent_path().string());
  auto c = copy_in(t_.path("cached"), root_.get(), "/var/cache/x");
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_FALSE(fs::exists(host_secret_.parent_path() / "cache"));
  EXPECT_EQ(read_file(env_ / host_secret_.parent_path().relative_path() / "cache/x/f"), "v");
}

TEST_F(EnvTreeTest, HolesStayHoles) {
  // A build's sparse file (1 TiB of nothing) must not become a terabyte on the host's disk.
  const fs::path big = t_.dir("env/tmp/out") / "sparse";
  {
    UniqueFd fd(::open(big.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd);
    ASSERT_EQ(::pwrite(fd.get(), "end", 3, (off_t{1} << 40) - 3), 3);
  }
  auto c = copy_out(root_.get(), "/tmp/out", dest("c"));
  ASSERT_TRUE(c) << c.error().describe();
  struct stat st {};
  ASSERT_EQ(::stat((dest("c") / "sparse").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, off_t{1} << 40);
  EXPECT_LT(st.st_blocks * 512, off_t{1} << 24);
  EXPECT_LT(c->bytes, std::uint64_t{1} << 24);
}

TEST_F(EnvTreeTest, SplitAtWildcard) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(split_at_wildcard("/tmp/a/**/*"), (P{"/tmp/a", "**/*"}));
  EXPECT_EQ(split_at_wildcard("/tmp/./a/b"), (P{"/tmp/a/b", ""}));
  EXPECT_EQ(split_at_wildcard("/tmp/b*/c"), (P{"/tmp", "b*/c"}));
  EXPECT_EQ(split_at_wildcard("/*"), (P{"/", "*"}));
}

// --- the collector -----------------------------------------------------------------------

class CollectAbsoluteTest : public EnvTreeTest {
 protected:
  Collected run(const spec::ArtifactSpec& spec) {
    CollectContext ctx{t_.dir("src"), {}, nullptr, {}};
    ctx.environment_root = &open_;
    ctx.staging = t_.dir("staging");
    auto r = collect(spec, ctx, log_);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? std::move(*r) : Collected{};
  }
  Names names(const Collected& c) {
    EXPECT_FALSE(c.failure) << c.failure->message;
    Names out;
    for (const Entry& e : c.files.entries) out.push_back(e.archive_path);
    return out;
  }

  EnvironmentRoot open_ = [this]() -> Result<UniqueFd> {
    return UniqueFd(::open(env_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  };
  logs::MemorySink log_;
};

TEST_F(CollectAbsoluteTest, AnAbsoluteBaseDirectoryIsTheEnvironments) {
  t_.file("env/tmp/testArtifacts/test-reports/r.xml", "report");
  t_.file("env/tmp/testArtifacts/log.txt", "log");
  t_.link("env/tmp/testArtifacts/leak.txt", host_secret_.string());
  spec::ArtifactSpec s;
  s.files = {"**/*"};
  s.base_directory = "/tmp/testArtifacts";
  Collected c = run(s);
  EXPECT_EQ(names(c), (Names{"log.txt", "test-reports/r.xml"}));
  EXPECT_NE(log_.text().find("Expanding base directory path: /tmp/testArtifacts"),
            std::string::npos);
  EXPECT_NE(log_.text().find("Skipping symbolic link leak.txt: its target is outside the source "
                             "directory"),
            std::string::npos);
  // The collected files are kiln's copies, never the environment's own paths.
  for (const Entry& e : c.files.entries)
    EXPECT_EQ(e.source.string().rfind(env_.string(), 0), std::string::npos);
}

TEST_F(CollectAbsoluteTest, AbsoluteBaseDirectoryGlobsShowTheirFullPath) {
  t_.file("env/tmp/build-1/a.txt", "a");
  t_.file("env/tmp/build-2/b.txt", "b");
  spec::ArtifactSpec s;
  s.files = {"*"};
  s.base_directory = "/tmp/build-*";
  EXPECT_EQ(names(run(s)), (Names{"a.txt", "b.txt"}));
  EXPECT_NE(log_.text().find("Expanding file paths for base directory /tmp/build-2"),
            std::string::npos);
}

TEST_F(CollectAbsoluteTest, AbsoluteFilesEntriesKeepTheirPathOrDiscardIt) {
  // 008-aws-aws-toolkit-jetbrains-linuxTests.yml's secondary artifact.
  t_.file("env/tmp/buildArtifacts/plugin.zip", "zip");
  t_.file("env/tmp/buildArtifacts/sub/deep.txt", "deep");
  t_.file("src/here.txt", "here");
  spec::ArtifactSpec s;
  s.files = {"/tmp/buildArtifacts/*", "here.txt"};
  EXPECT_EQ(names(run(s)), (Names{"here.txt", "tmp/buildArtifacts/plugin.zip"}));
  s.files = {"/tmp/buildArtifacts"};
  EXPECT_EQ(names(run(s)),
            (Names{"tmp/buildArtifacts/plugin.zip", "tmp/buildArtifacts/sub/deep.txt"}));
  s.files = {"/tmp/buildArtifacts/sub/deep.txt", "/tmp/buildArtifacts/*"};
  s.discard_paths = true;
  Collected c = run(s);
  EXPECT_EQ(names(c), (Names{"deep.txt", "plugin.zip"}));

  // Entries from the copy and from the source go into one zip.
  s.files.push_back("here.txt");
  c = run(s);
  const fs::path zip = t_.path("out.zip");
  auto w = write_zip(c.files, zip);
  ASSERT_TRUE(w) << w.error().describe();
  EXPECT_EQ(kiln::testing::zip_names(zip), (Names{"deep.txt", "here.txt", "plugin.zip"}));
}

TEST_F(CollectAbsoluteTest, MissingPathsAndTheWholeFileSystem) {
  spec::ArtifactSpec s;
  s.files = {"**/*"};
  s.base_directory = "/tmp/absent";
  Collected c = run(s);
  ASSERT_TRUE(c.failure);
  EXPECT_EQ(c.failure->message, "no matching base directory path found for /tmp/absent");
  s.base_directory = "/";
  c = run(s);
  ASSERT_TRUE(c.failure);
  EXPECT_EQ(c.failure->message,
            "base-directory: / names the whole file system; name a folder below /");
  s.base_directory.reset();
  s.files = {"/absent/*"};
  c = run(s);
  ASSERT_TRUE(c.failure);
  EXPECT_EQ(c.failure->message, kNoMatchingPaths);
  EXPECT_NE(log_.text().find("Skipping invalid file path /absent/*"), std::string::npos);
}

}  // namespace
}  // namespace kiln::artifacts
