#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "cache/build_cache.h"
#include "cache_test_util.h"
#include "logs/log_sink.h"

namespace kiln::cache {
namespace {

namespace fs = std::filesystem;
using testing::listing;
using testing::mode_of;
using testing::slurp;
using testing::TempDir;
using testing::write;

class PackTest : public ::testing::Test {
 protected:
  PackTest() {
    write(ws_ / "node_modules/a/index.js", "module.exports = 1;\n");
    write(ws_ / "node_modules/a/package.json", "{}");
    write(ws_ / "node_modules/.bin/tool", "#!/bin/sh\necho hi\n", 0755);
    fs::create_directories(ws_ / "node_modules/empty/deeper");
    fs::create_symlink("../a/index.js", ws_ / "node_modules/.bin/a");
    write(ws_ / "node_modules/big.bin", std::string(3 << 20, 'z'));  // several buffers
    write(ws_ / ".m2/repo/x.jar", "jar");
    write(ws_ / "src/main.c", "int main;");  // not cached
  }

  Result<PackStats> pack(const std::vector<std::string>& paths) {
    return pack_paths(paths, ws_, archive_, log_);
  }

  TempDir tmp_;
  fs::path ws_ = tmp_.dir("ws");
  fs::path archive_ = tmp_.root() / "cache.tar.zst";
  fs::path scratch_ = tmp_.dir("scratch");
  logs::MemorySink log_;
};

TEST_F(PackTest, RoundTripsFilesFoldersSymlinksAndTheExecBit) {
  auto packed = pack({"node_modules/**/*", ".m2"});
  ASSERT_TRUE(packed) << packed.error().describe();
  EXPECT_EQ(packed->files, 6U);  // 5 files and a symlink
  EXPECT_EQ(packed->bytes_in, 20U + 2U + 18U + (3U << 20) + 3U);
  EXPECT_LT(packed->bytes_out, 20000U);
  EXPECT_EQ(packed->bytes_out, fs::file_size(archive_));

  const fs::path out = tmp_.dir("out");
  auto unpacked = unpack_into(archive_, out, scratch_);
  ASSERT_TRUE(unpacked) << unpacked.error().describe();
  EXPECT_EQ(unpacked->files, 6U);
  EXPECT_EQ(unpacked->bytes_in, packed->bytes_out);
  EXPECT_EQ(unpacked->bytes_out, packed->bytes_in);

  auto expected = listing(ws_);
  expected.erase("src");
  expected.erase("src/main.c");
  EXPECT_EQ(listing(out), expected);
  EXPECT_EQ(mode_of(out / "node_modules/.bin/tool"), 0755U);
  EXPECT_EQ(mode_of(out / "node_modules/a/index.js"), 0644U);
  EXPECT_TRUE(fs::is_directory(out / "node_modules/empty/deeper"));
  EXPECT_EQ(fs::read_symlink(out / "node_modules/.bin/a"), "../a/index.js");
  EXPECT_TRUE(fs::is_empty(scratch_));  // staging removed
}

TEST_F(PackTest, SkipsPathsOutsideTheWorkspaceAndLinksThatLeaveIt) {
  fs::create_symlink("/etc/passwd", ws_ / "node_modules/abs");
  fs::create_symlink("../../../outside", ws_ / "node_modules/a/up");
  auto packed = pack({"/root/.m2/**/*", "../x/**", "node_modules/**/*"});
  ASSERT_TRUE(packed) << packed.error().describe();
  EXPECT_EQ(packed->files, 5U);
  EXPECT_NE(log_.text().find("Skipping cache path /root/.m2/**/*: outside the workspace"),
            std::string::npos)
      << log_.text();
  EXPECT_NE(log_.text().find("Skipping cache path ../x/**: outside the workspace"),
            std::string::npos);
  EXPECT_NE(log_.text().find("Skipping cache path node_modules/abs: symlink to /etc/passwd "
                             "leaves the workspace"),
            std::string::npos);
  EXPECT_NE(log_.text().find("node_modules/a/up: symlink"), std::string::npos);
  // What was packed extracts under extract_archive's rules.
  ASSERT_TRUE(unpack_into(archive_, tmp_.dir("out"), scratch_));
}

TEST_F(PackTest, NothingSelectedPacksNoFiles) {
  auto packed = pack({"nope/**/*"});
  ASSERT_TRUE(packed);
  EXPECT_EQ(packed->files, 0U);
  packed = pack({"/abs"});
  ASSERT_TRUE(packed);
  EXPECT_EQ(packed->files, 0U);
}

TEST_F(PackTest, RestoresOverAWorkspaceThatHasSomeOfTheFiles) {
  ASSERT_TRUE(pack({"node_modules", ".m2"}));
  const fs::path out = tmp_.dir("out2");
  write(out / "node_modules/a/index.js", "stale source copy");   // replaced
  write(out / "node_modules/a/local.js", "only in the source");  // kept (folders merge)
  write(out / "node_modules/empty", "a file where the cache has a folder");
  fs::create_directories(out / "node_modules/big.bin/sub");  // a folder where a file is
  fs::create_symlink("/etc", out / ".m2");                   // a symlink where a folder is
  write(out / "README", "source");
  auto r = unpack_into(archive_, out, scratch_);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(slurp(out / "node_modules/a/index.js"), "module.exports = 1;\n");
  EXPECT_EQ(slurp(out / "node_modules/a/local.js"), "only in the source");
  EXPECT_TRUE(fs::is_directory(out / "node_modules/empty/deeper"));
  EXPECT_EQ(fs::file_size(out / "node_modules/big.bin"), 3U << 20);
  EXPECT_FALSE(fs::is_symlink(out / ".m2"));
  EXPECT_EQ(slurp(out / ".m2/repo/x.jar"), "jar");
  EXPECT_EQ(slurp(out / "README"), "source");
  EXPECT_TRUE(fs::is_empty(scratch_));
}

TEST_F(PackTest, ATruncatedArchiveFailsAndLeavesTheWorkspaceAlone) {
  ASSERT_TRUE(pack({"node_modules"}));
  fs::resize_file(archive_, fs::file_size(archive_) / 2);
  const fs::path out = tmp_.dir("out3");
  write(out / "keep", "k");
  auto r = unpack_into(archive_, out, scratch_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << r.error().describe();
  EXPECT_EQ(listing(out), (std::map<std::string, std::string>{{"keep", "f k"}}));
  EXPECT_TRUE(fs::is_empty(scratch_));
}

TEST_F(PackTest, ASingleThreadedPackIsTheSameArchiveContent) {
  PackOptions inline_zstd;
  inline_zstd.threads = 0;
  inline_zstd.buffer_bytes = 4096;
  auto packed = pack_paths({"node_modules"}, ws_, archive_, log_, inline_zstd);
  ASSERT_TRUE(packed) << packed.error().describe();
  const fs::path out = tmp_.dir("out4");
  ASSERT_TRUE(unpack_into(archive_, out, scratch_));
  EXPECT_EQ(slurp(out / "node_modules/big.bin"), std::string(3 << 20, 'z'));
}

// Many small chunks, so frames complete out of order on several threads; the result must be
// one stream that kiln and GNU tar both read.
TEST_F(PackTest, ManyFramesFromSeveralThreadsAreOneValidStream) {
  PackOptions many;
  many.threads = 3;
  many.chunk_bytes = 64 << 10;
  auto packed = pack_paths({"node_modules", ".m2"}, ws_, archive_, log_, many);
  ASSERT_TRUE(packed) << packed.error().describe();
  const fs::path out = tmp_.dir("out5");
  ASSERT_TRUE(unpack_into(archive_, out, scratch_));
  EXPECT_EQ(slurp(out / "node_modules/big.bin"), std::string(3 << 20, 'z'));
  EXPECT_EQ(slurp(out / ".m2/repo/x.jar"), "jar");
  const std::string cmd = "tar --zstd -tf '" + archive_.string() + "' > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
}  // namespace kiln::cache
