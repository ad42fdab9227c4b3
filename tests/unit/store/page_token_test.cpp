#include "store/page_token.h"

#include <gtest/gtest.h>

#include <limits>

namespace kiln::store {
namespace {

TEST(Base64url, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    const std::string text = base64url_encode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << text;
    auto back = base64url_decode(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, bytes);
    bytes += static_cast<char>(i * 37 + 200);
  }
}

TEST(Base64url, KnownVectors) {
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Base64url, RejectsNonCanonicalText) {
  EXPECT_FALSE(base64url_decode("Zg=="));   // padding
  EXPECT_FALSE(base64url_decode("Zm9v+"));  // standard alphabet
  EXPECT_FALSE(base64url_decode("Z"));      // a length no byte ends at
  EXPECT_FALSE(base64url_decode("Zh"));     // stray low bits
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
           base64url_encode("s1:li7"),                      // integer without its terminator
           base64url_encode("s1:li7;i8;"),                  // a part too many
           base64url_encode("s1:ls1:x"),                    // wrong type for the shape
           base64url_encode("s9:l"),                        // length beyond the end
           base64url_encode("s1:li99999999999999999999;"),  // out of range
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
