#include "store/page_token.h"

#include <gtest/gtest.h>

#include <limits>

#include "util/string.h"

namespace kiln::store {
namespace {

std::string url64(std::string_view bytes) {
  return base64_encode(bytes, Base64::kUrl);
}

TEST(PageToken, RoundTripsEachKeyType) {
  const PageKey key{std::int64_t{-42}, 1700000000.123456789, std::string("a:b\0c;", 6)};
  const std::string token = make_page_token("listing/x", key);
  auto back = read_page_token(token, "listing/x", "ids");
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(*back, key);

  const double tiny = std::numeric_limits<double>::denorm_min();
  auto d = read_page_token(make_page_token("l", {tiny}), "l", "d");
  ASSERT_TRUE(d);
  EXPECT_EQ(std::get<double>((*d)[0]), tiny);
}

TEST(PageToken, IsOpaqueAndDiffersByKey) {
  const std::string a = make_page_token("builds/asc", {std::int64_t{100}});
  const std::string b = make_page_token("builds/asc", {std::int64_t{200}});
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find("builds"), std::string::npos);
}

TEST(PageToken, RefusesAnotherListing) {
  const std::string token = make_page_token("builds/asc", {std::int64_t{100}});
  auto r = read_page_token(token, "builds/desc", "i");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "invalid nextToken");
}

TEST(PageToken, RefusesMalformedTokens) {
  const std::string good = make_page_token("l", {std::int64_t{7}});
  for (const std::string& bad : {
           std::string("garbage!"), std::string("' OR 1=1 --"), good + "A",
           good.substr(0, good.size() - 1),
           url64("s1:li7"),                      // integer without its terminator
           url64("s1:li7;i8;"),                  // a part too many
           url64("s1:ls1:x"),                    // wrong type for the shape
           url64("s9:l"),                        // length beyond the end
           url64("s1:li99999999999999999999;"),  // out of range
       }) {
    auto r = read_page_token(bad, "l", "i");
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().message(), "invalid nextToken");
    }
  }
}

}  // namespace
}  // namespace kiln::store
