// The engine hands the uploader and the cache the build environment's root (Executor::open_root)
// and a staging folder the build cannot see, so absolute base-directory, `files` and
// cache.paths are the environment's own (docs/artifacts.md, docs/cache.md "Absolute paths").
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "cache/build_cache.h"
#include "engine/engine_fixture.h"
#include "engine/executor_factory.h"

namespace kiln::testing {
namespace {

namespace fs = std::filesystem;

// Whether `fd` is the same folder as `path`.
bool same_folder(int fd, const fs::path& path) {
  struct stat a {
  }, b{};
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

class RecordingUploader final : public artifacts::ArtifactUploader {
 public:
  bool had_root = false;
  bool root_is_executors = false;
  fs::path staging;

  Result<artifacts::UploadResult> upload(const artifacts::UploadRequest& req,
                                         logs::LogSink&) override {
    had_root = static_cast<bool>(req.open_environment_root);
    if (had_root) {
      auto fd = req.open_environment_root();
      // FakeExecutor keeps Executor's default: the host's `/`, as the process executor.
      root_is_executors = fd && same_folder(fd->get(), "/");
    }
    staging = req.staging_dir;
    // As the collector would: the folder is made when first needed.
    fs::create_directories(staging / "env-1");
    return artifacts::UploadResult{};
  }
};

class RecordingCache final : public cache::BuildCache {
 public:
  std::vector<cache::CacheRequest> saves;
  cache::CacheReport restore(const cache::CacheRequest&, logs::LogSink&) override { return {}; }
  cache::CacheReport save(const cache::CacheRequest& req, logs::LogSink&) override {
    saves.push_back(req);
    return {};
  }
};

class EngineAbsolutePathsTest : public EngineTest {
 protected:
  EngineAbsolutePathsTest() {
    std::string t = (fs::temp_directory_path() / "kiln-abs-XXXXXX").string();
    root_ = ::mkdtemp(t.data());
    request.build_root = root_;
    fs::create_directories(root_ / "exec");  // the executor's scratch, made at PROVISIONING
  }
  ~EngineAbsolutePathsTest() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  fs::path root_;
};

TEST_F(EngineAbsolutePathsTest, TheUploaderGetsTheEnvironmentsRootAndAPrivateStagingFolder) {
  RecordingUploader recording;
  engine::EngineDeps deps{executor, recording,  log,
                          clock,    *resolver,  [](const engine::BuildRecord&) {},
                          sources,  build_cache};
  request.buildspec_text =
      "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  files: ['**/*']\n"
      "  base-directory: /tmp/testArtifacts\n";
  engine::Engine e(deps);
  exec::CancelToken cancel = exec::CancelToken::create().value();
  const auto record = e.run(request, cancel);
  EXPECT_EQ(record.build_status, engine::Status::kSucceeded);
  EXPECT_TRUE(recording.had_root);
  EXPECT_TRUE(recording.root_is_executors);
  // Under the executor's scratch (hidden from container builds), and gone after the upload.
  EXPECT_EQ(recording.staging, root_ / "exec" / "artifacts-env");
  EXPECT_FALSE(fs::exists(recording.staging));
}

TEST_F(EngineAbsolutePathsTest, TheCacheGetsTheEnvironmentsRootAndThePrivateScratch) {
  RecordingCache recording;
  build_cache = &recording;
  const auto record = run(
      "version: 0.2\nphases:\n  build:\n    commands: [x]\ncache:\n  paths: ['/root/.m2/**/*']\n");
  EXPECT_EQ(record.build_status, engine::Status::kSucceeded);
  ASSERT_EQ(recording.saves.size(), 1u);
  const cache::CacheRequest& req = recording.saves[0];
  ASSERT_TRUE(static_cast<bool>(req.open_environment_root));
  auto fd = req.open_environment_root();
  ASSERT_TRUE(fd) << fd.error().describe();
  EXPECT_TRUE(same_folder(fd->get(), "/"));
  EXPECT_EQ(req.private_scratch, root_ / "exec");
}

TEST(BuildUserExecutorTest, RefusesTheHostRootItWouldReadAsRoot) {
  // A root server's process builds run as its build user; kiln copying /etc for them as root
  // would hand them what that user cannot read (docs/security.md).
  engine::BuildRequest req;
  req.executor_name = "process";
  auto executor = engine::make_executor(req, "nobody");
  ASSERT_TRUE(executor) << executor.error().describe();
  auto root = (*executor)->open_root();
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().code(), ErrorCode::kPermission);
  auto plain = engine::make_executor(req, "");
  ASSERT_TRUE(plain);
  EXPECT_TRUE((*plain)->open_root());
}

}  // namespace
}  // namespace kiln::testing
