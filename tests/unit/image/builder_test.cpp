// build_image (image/builder.h) against a fake mmdebstrap, a shell script that records its
// arguments and writes a tiny tree: the steps around mmdebstrap (plan, argv, log, tar, store,
// failure, cancel) without the network. tests/e2e/test_images.py builds kiln/minimal for real.
#include "image/builder.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "util/files.h"

namespace kiln::image {
namespace {

namespace fs = std::filesystem;

// Writes a tree with /usr/bin/sh into the target (a folder, or a tar in unshare mode); fails
// as apt does for a package called "bogus"; sleeps for one called "slow".
constexpr const char* kFakeMmdebstrap = R"SH(#!/bin/sh
printf '%s\n' "$@" > "$(dirname "$0")/args"
format=directory
for a in "$@"; do
  case "$a" in
    --format=tar) format=tar ;;
    --include=*bogus*) echo "I: running apt-get update..."; echo "E: Unable to locate package bogus" >&2
                       echo "E: mmdebstrap failed to run"; exit 25 ;;
    --include=*slow*) echo "I: slow"; sleep 30 ;;
  esac
done
while [ "$1" != "--" ]; do shift; done
target="$3"
echo "I: chroot architecture amd64 is equal to the host's architecture"
if [ "$format" = tar ]; then tree="$(mktemp -d)"; else tree="$target"; mkdir -p "$tree"; fi
mkdir -p "$tree/usr/bin" "$tree/etc"
echo '#!/bin/dash' > "$tree/usr/bin/sh"; chmod 755 "$tree/usr/bin/sh"
ln -s usr/bin "$tree/bin"
echo 'PRETTY_NAME="fake"' > "$tree/etc/os-release"
if [ "$format" = tar ]; then tar -C "$tree" -cf "$target" . && rm -rf "$tree"; fi
printf 'I: success in 0.01 seconds'
)SH";

class BuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kiln-builder-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_ = ImageStore(dir_ / "images");
    fake_ = dir_ / "mmdebstrap";
    std::ofstream(fake_) << kFakeMmdebstrap;
    ::chmod(fake_.c_str(), 0755);
  }
  void TearDown() override {
    if (!HasFailure())
      fs::remove_all(dir_);
    else
      std::fprintf(stderr, "test folder kept at %s\n", dir_.c_str());
  }

  BuildOptions options(const std::string& name, std::vector<std::string> packages = {}) {
    BuildOptions o;
    o.name = name;
    o.packages = std::move(packages);
    o.mmdebstrap = fake_.string();
    o.mode = BuildOptions::Mode::kRoot;
    return o;
  }
  Result<ImageEntry> build(const BuildOptions& o, const exec::CancelToken* cancel = nullptr) {
    log_.clear();
    return build_image(
        store_, o, [this](std::string_view l) { log_.emplace_back(l); }, cancel);
  }
  std::vector<std::string> args() {
    std::vector<std::string> out;
    std::ifstream in(dir_ / "args");
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  bool logged(const std::string& line) {
    return std::find(log_.begin(), log_.end(), line) != log_.end();
  }
  std::vector<std::string> store_leaves() {
    std::vector<std::string> out;
    if (!fs::exists(dir_ / "images")) return out;
    for (const auto& e : fs::directory_iterator(dir_ / "images"))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
  fs::path fake_;
  ImageStore store_{""};  // set in SetUp, once dir_ is known
  std::vector<std::string> log_;
};

TEST(PlanBuild, CuratedNamesTakeTheirPackagesOthersNeedThem) {
  auto minimal = plan_build({.name = "kiln/minimal"});
  ASSERT_TRUE(minimal);
  EXPECT_TRUE(minimal->packages.empty());
  EXPECT_TRUE(minimal->runtimes.empty());
  auto standard = plan_build({.name = "kiln/standard", .packages = {"maven", "git"}});
  ASSERT_TRUE(standard);
  EXPECT_EQ(standard->packages, [] {
    auto p = all_packages(*find_curated("kiln/standard"));
    p.push_back("maven");  // git was there already
    return p;
  }());
  EXPECT_EQ(standard->runtimes.size(), 4u);
  auto other = plan_build({.name = "team/img"});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message(),
            "team/img is not a curated image (kiln/minimal, kiln/standard, kiln/docker): name "
            "its packages with --packages");
  EXPECT_TRUE(plan_build({.name = "team/img", .packages = {"g++", "libc6:amd64"}}));
  for (const char* bad : {"--option", "?essential", "a,b", "a b", ""}) {
    auto r = plan_build({.name = "team/img", .packages = {bad}});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().message(), std::string("invalid Debian package name '") + bad + "'");
  }
}

TEST(MmdebstrapArgv, RootModeWritesADirectory) {
  BuildOptions o{.name = "kiln/minimal", .trim = false};
  EXPECT_EQ(mmdebstrap_argv(o, true, {"git", "curl"}, "/s/rootfs"),
            (std::vector<std::string>{"mmdebstrap", "--variant=minbase", "--mode=root",
                                      "--format=directory", "--aptopt=Acquire::Languages \"none\"",
                                      "--include=git,curl", "--", "bookworm", "/s/rootfs"}));
  o.mirror = "http://mirror.example/debian";
  const auto unshare = mmdebstrap_argv(o, false, {}, "/s/image.tar");
  EXPECT_EQ(unshare[2], "--mode=unshare");
  EXPECT_EQ(unshare[3], "--format=tar");
  EXPECT_EQ(unshare.back(), "http://mirror.example/debian");
  EXPECT_EQ(std::count_if(unshare.begin(), unshare.end(),
                          [](const std::string& a) { return a.starts_with("--include"); }),
            0);
}

TEST(MmdebstrapArgv, TrimExcludesDocsManPagesAndLocales) {
  const auto argv = mmdebstrap_argv({.name = "kiln/minimal"}, true, {}, "/s/rootfs");
  for (const char* opt :
       {"--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/locale/*",
        "--essential-hook=mkdir -p \"$1/usr/share/man/man1\""}) {
    EXPECT_NE(std::find(argv.begin(), argv.end(), opt), argv.end()) << opt;
  }
}

TEST_F(BuilderTest, BuildsAndStoresACuratedImage) {
  auto built = build(options("kiln/standard"));
  ASSERT_TRUE(built) << built.error().describe();
  EXPECT_EQ(built->name, "kiln/standard");
  EXPECT_EQ(built->dir, dir_ / "images/kiln_standard");
  EXPECT_TRUE(fs::exists(built->rootfs / "bin/sh"));
  EXPECT_GT(built->tar_bytes, 0u);
  EXPECT_EQ(built->tar_bytes, fs::file_size(built->tar));
  EXPECT_GT(built->rootfs_bytes, 0u);
  EXPECT_EQ(built->runtimes.size(), 4u);
  EXPECT_EQ(built->packages, all_packages(*find_curated("kiln/standard")));
  EXPECT_EQ(built->built_at.size(), 20u);  // 2025-05-20T10:11:12Z
  EXPECT_EQ(store_leaves(), std::vector<std::string>{"kiln_standard"});
  // mmdebstrap's own lines reach the log as they are, the last one without its newline too.
  EXPECT_TRUE(logged("I: chroot architecture amd64 is equal to the host's architecture"));
  EXPECT_TRUE(logged("I: success in 0.01 seconds"));
  EXPECT_TRUE(log_.back().starts_with("Built kiln/standard in ")) << log_.back();
  const auto a = args();
  EXPECT_EQ(a[0], "--variant=minbase");
  EXPECT_EQ(a[a.size() - 2], "bookworm");
  // mmdebstrap wrote into the hidden staging folder, renamed into place afterwards.
  EXPECT_TRUE(a.back().starts_with((dir_ / "images/.kiln_standard.tmp-").string())) << a.back();
  EXPECT_TRUE(a.back().ends_with("/rootfs")) << a.back();
  auto listed = store_.list();
  ASSERT_TRUE(listed && listed->size() == 1);
  EXPECT_EQ((*listed)[0].rootfs_bytes, built->rootfs_bytes);
}

TEST_F(BuilderTest, UnshareModeUnpacksTheRootfsFromTheTar) {
  auto o = options("team/tools", {"make"});
  o.mode = BuildOptions::Mode::kUnshare;
  auto built = build(o);
  ASSERT_TRUE(built) << built.error().describe();
  EXPECT_TRUE(fs::is_symlink(built->rootfs / "bin"));
  EXPECT_EQ(read_file(built->rootfs / "usr/bin/sh").value(), "#!/bin/dash\n");
  EXPECT_TRUE(built->runtimes.empty());
  EXPECT_EQ(built->packages, std::vector<std::string>{"make"});
}

TEST_F(BuilderTest, AFailedBuildKeepsTheOldImageAndSaysWhy) {
  ASSERT_TRUE(build(options("kiln/minimal")));
  auto failed = build(options("kiln/minimal", {"bogus"}));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), ErrorCode::kProcess);
  EXPECT_EQ(failed.error().message(),
            "mmdebstrap failed with exit status 25: E: Unable to locate package bogus");
  EXPECT_TRUE(logged("E: Unable to locate package bogus"));
  EXPECT_EQ(store_leaves(), std::vector<std::string>{"kiln_minimal"});
  EXPECT_TRUE(store_.find("kiln/minimal").value());
}

TEST_F(BuilderTest, MissingMmdebstrapSaysWhatToInstall) {
  auto o = options("kiln/minimal");
  o.mmdebstrap = (dir_ / "no-such-program").string();
  auto r = build(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message().find("install mmdebstrap"), std::string::npos);
}

TEST_F(BuilderTest, CancelKillsMmdebstrapAndLeavesNothing) {
  exec::CancelToken cancel = exec::CancelToken::create().value();
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = build(options("kiln/minimal", {"slow"}), &cancel);
  t.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(store_leaves().empty());
}

}  // namespace
}  // namespace kiln::image
