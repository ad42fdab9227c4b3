// The engine against a hostile buildspec or StartBuild caller (docs/security.md): a buildspec path
// never leaves the source, only regular files of bounded size are read, control characters in
// quoted buildspec text are escaped in the log, and record fields a build controls are masked.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>

#include "engine/engine_fixture.h"
#include "spec/parser.h"

namespace kiln::testing {
namespace {

namespace fs = std::filesystem;
using engine::PhaseType;
using engine::Status;

class FakeParams final : public secrets::SecretResolver {
 public:
  std::map<std::string, std::string> params;
  Result<std::string> parameter(const std::string& name) override {
    if (auto it = params.find(name); it != params.end()) return it->second;
    return fail(ErrorCode::kNotFound, "parameter does not exist: " + name);
  }
  Result<std::string> secret_text(const secrets::SecretReference&) override {
    return fail(ErrorCode::kNotFound, "none");
  }
};

const std::string kSpec = "version: 0.2\nphases:\n  build:\n    commands: [make]\n";

class HostileBuildTest : public EngineTest {
 protected:
  HostileBuildTest() {
    std::string tmpl = (fs::temp_directory_path() / "kiln-hostile-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    top_ = tmpl;
    src_ = top_ / "src";
    fs::create_directories(src_ / "ci");
    std::ofstream(top_ / "shadow") << "root:$y$j9T$secret-hash:19000:0:99999:7:::\n";
    request.source.location = src_.string();
  }
  ~HostileBuildTest() override {
    if (!HasFailure()) fs::remove_all(top_);
  }
  // Runs with the buildspec read from the source (no inline text).
  engine::BuildRecord run_file(const std::string& path) {
    request.buildspec_path = path;
    engine::EngineDeps deps{executor, uploader, log, clock, *resolver, nullptr, nullptr, nullptr};
    engine::Engine e(deps);
    exec::CancelToken cancel = exec::CancelToken::create().value();
    return e.run(request, cancel);
  }
  std::string context(const engine::BuildRecord& r) {
    const auto& p = phase(r, PhaseType::kDownloadSource);
    return p.contexts.empty() ? "" : p.contexts[0].status_code + ": " + p.contexts[0].message;
  }

  fs::path top_, src_;
  FakeParams fake_params_;
};

TEST_F(HostileBuildTest, ABuildspecPathCannotLeaveTheSource) {
  fs::create_symlink(top_ / "shadow", src_ / "buildspec.yml");
  auto r = run_file("");
  EXPECT_EQ(r.build_status, Status::kFailed);
  EXPECT_EQ(context(r),
            "YAML_FILE_ERROR: buildspec path buildspec.yml leaves the source directory");
  for (const std::string& path : std::vector<std::string>{"/etc/shadow", (top_ / "shadow").string(),
                                                          "../shadow", "ci/../../shadow"}) {
    r = run_file(path);
    EXPECT_EQ(context(r),
              "YAML_FILE_ERROR: buildspec path " + path + " leaves the source directory")
        << path;
  }
  EXPECT_EQ(log.text().find("secret-hash"), std::string::npos) << log.text();
  EXPECT_TRUE(executor.runs.empty());
}

TEST_F(HostileBuildTest, ASymlinkThatStaysInsideIsFollowed) {
  std::ofstream(src_ / "ci/buildspec.yml") << kSpec;
  fs::create_symlink("ci/buildspec.yml", src_ / "buildspec.yml");
  auto r = run_file("");
  EXPECT_EQ(r.build_status, Status::kSucceeded) << log.text();
}

TEST_F(HostileBuildTest, DevicesFifosAndHugeFilesAreRefusedAtOnce) {
  fs::create_symlink("/dev/zero", src_ / "zero.yml");  // a symlink out of the source
  EXPECT_EQ(context(run_file("zero.yml")),
            "YAML_FILE_ERROR: buildspec path zero.yml leaves the source directory");
  ASSERT_EQ(::mkfifo((src_ / "fifo.yml").c_str(), 0600), 0);
  auto fifo = std::async(std::launch::async, [&] { return run_file("fifo.yml"); });
  ASSERT_EQ(fifo.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(context(fifo.get()), "YAML_FILE_ERROR: " + src_.string() + "/fifo.yml: is a FIFO");
  std::ofstream(src_ / "big.yml") << kSpec << "# " << std::string(spec::kMaxBuildspecBytes, 'x');
  EXPECT_EQ(context(run_file("big.yml")),
            "YAML_FILE_ERROR: " + src_.string() + "/big.yml: is larger than 1 MiB, the limit");
  EXPECT_EQ(context(run_file("ci")), "YAML_FILE_ERROR: " + src_.string() + "/ci: is a directory");
}

TEST_F(HostileBuildTest, QuotedBuildspecTextIsEscapedInTheLog) {
  auto r =
      run("version: 0.2\n\"k\\e]0;x\\a\": 1\n\"bad\\nkey\": 2\nphases:\n  build:\n"
          "    commands:\n      - \"echo \\e[2J\\rhidden\"\n");
  EXPECT_EQ(r.build_status, Status::kSucceeded);
  EXPECT_EQ(log.text().find('\x1b'), std::string::npos) << log.text();
  EXPECT_EQ(log.text().find('\x07'), std::string::npos);
  EXPECT_EQ(log.text().find('\r'), std::string::npos);
  EXPECT_NE(log.text().find("Running command echo \\x1b[2J\\x0dhidden\n"), std::string::npos)
      << log.text();
  EXPECT_NE(log.text().find("unknown top-level key that is not a key name (ignored)"),
            std::string::npos);
}

TEST_F(HostileBuildTest, RecordFieldsABuildControlsAreMasked) {
  request.override_vars = {{"PLAIN", "x"}};
  fake_params_.params["/tok"] = "tok-1234567890";
  resolver = &fake_params_;
  uploader.result.primary = artifacts::ArtifactOutcome{};
  uploader.result.primary->location = "/art/art-tok-1234567890.zip";
  artifacts::ArtifactOutcome second;
  second.location = "arn:aws:s3:::b/tok-1234567890/out";
  second.identifier = "out";
  uploader.result.secondary.push_back(second);
  auto r =
      run("version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /tok\nphases:\n  build:\n"
          "    commands: [c1]\nartifacts:\n  files: [a]\n  name: art-$TOKEN\n");
  ASSERT_EQ(r.build_status, Status::kSucceeded) << log.text();
  ASSERT_TRUE(r.artifacts);
  EXPECT_EQ(r.artifacts->location, "/art/art-***.zip");
  ASSERT_EQ(r.secondary_artifacts.size(), 1u);
  EXPECT_EQ(r.secondary_artifacts[0].location, "arn:aws:s3:::b/***/out");
  EXPECT_EQ(engine::to_json(r).dump().find("tok-1234567890"), std::string::npos);
}

}  // namespace
}  // namespace kiln::testing
