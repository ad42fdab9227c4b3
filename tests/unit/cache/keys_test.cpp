#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cache/build_cache.h"
#include "cache/internal.h"

namespace kiln::cache {
namespace {

TEST(CacheVersion, IsStableAndDependsOnThePathList) {
  const std::vector<std::string> paths = {"node_modules/**/*", "/root/.m2/**/*"};
  EXPECT_EQ(cache_version(paths), cache_version(paths));
  EXPECT_EQ(cache_version(paths).size(), 16U);
  EXPECT_EQ(cache_version(paths).find_first_not_of("0123456789abcdef"), std::string::npos);
  // Pinned: a change here orphans every stored cache.
  EXPECT_EQ(cache_version({}), "e3b0c44298fc1c14");  // SHA-256 of nothing
  EXPECT_NE(cache_version(paths), cache_version({"node_modules/**/*"}));
  EXPECT_NE(cache_version(paths), cache_version({paths[1], paths[0]}));  // order kept
  EXPECT_NE(cache_version({"ab"}), cache_version({"a", "b"}));
}

TEST(EncodeKey, KeepsSafeBytesAndEscapesTheRest) {
  EXPECT_EQ(encode_key("npm-key_1.0"), "npm-key_1.0");
  EXPECT_EQ(encode_key("a/b c%"), "a%2Fb%20c%25");
  EXPECT_EQ(encode_key("\xc3\xa9"), "%C3%A9");
}

TEST(EncodeKey, APrefixOfAKeyEncodesToAPrefixOfItsEncoding) {
  const std::vector<std::string> keys = {"npm-", "npm-abc/def", "a b/c%d", "../x", "\xff\x01z"};
  for (const std::string& key : keys) {
    const std::string full = encode_key(key);
    for (std::size_t n = 0; n <= key.size(); ++n) {
      EXPECT_EQ(full.rfind(encode_key(key.substr(0, n)), 0), 0U) << key << " " << n;
    }
  }
}

TEST(EncodeKey, CannotNameAnotherFolder) {
  for (const std::string key : {"../../etc/passwd", "..", "/abs", "a/../../b"}) {
    const std::string enc = encode_key(key);
    EXPECT_EQ(enc.find('/'), std::string::npos) << enc;
  }
  EXPECT_EQ(encode_key("../x"), "%2E.%2Fx");
  // Whole names (namespaces name folders by themselves): never "." or "..".
  EXPECT_EQ(encode_key("."), "%2E");
  EXPECT_EQ(encode_key(".."), "%2E.");
  EXPECT_EQ(encode_key(".m2"), "%2Em2");
}

TEST(CacheDetail, MapsAbsolutePathsUnderTheSourceDir) {
  using detail::workspace_relative;
  EXPECT_EQ(workspace_relative("node_modules/**/*", "/codebuild/src"), "node_modules/**/*");
  EXPECT_EQ(workspace_relative("/codebuild/src/.m2/**/*", "/codebuild/src/"), ".m2/**/*");
  EXPECT_EQ(workspace_relative("/codebuild/src", "/codebuild/src"), ".");
  EXPECT_EQ(workspace_relative("/codebuild/srcx/a", "/codebuild/src"), std::nullopt);
  EXPECT_EQ(workspace_relative("/root/.m2/**/*", "/codebuild/src"), std::nullopt);
  EXPECT_EQ(detail::human_bytes(12'345'678), "12.3 MB");
  EXPECT_EQ(detail::human_bytes(999), "999 B");
  EXPECT_EQ(detail::human_seconds(0.414), "0.41 s");
}

}  // namespace
}  // namespace kiln::cache
