// util/string.h: each helper's edge cases, as the copies it replaced behaved.
#include "util/string.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace kiln {
namespace {

using Parts = std::vector<std::string_view>;

TEST(Hex, LowercaseTwoDigitsAByte) {
  EXPECT_EQ(to_hex(std::string_view()), "");
  EXPECT_EQ(to_hex(std::string_view("\x00\x0f\xa0\xff", 4)), "000fa0ff");
  const std::array<std::uint8_t, 3> bytes = {0xde, 0xad, 0x01};
  EXPECT_EQ(to_hex(bytes), "dead01");
  const unsigned char raw[2] = {0x7f, 0x80};
  EXPECT_EQ(to_hex(raw), "7f80");
}

TEST(Base64, StandardKnownVectors) {
  // RFC 4648 section 10.
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode(""), "");
}

TEST(Base64, UrlKnownVectors) {
  EXPECT_EQ(base64_encode("", Base64::kUrl), "");
  EXPECT_EQ(base64_encode("f", Base64::kUrl), "Zg");
  EXPECT_EQ(base64_encode("fo", Base64::kUrl), "Zm8");
  EXPECT_EQ(base64_encode("foo", Base64::kUrl), "Zm9v");
  EXPECT_EQ(base64_encode("\xfb\xff", Base64::kUrl), "-_8");
  EXPECT_EQ(base64_decode("-_8", Base64::kUrl), "\xfb\xff");
}

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    for (const Base64 v : {Base64::kStandard, Base64::kUrl}) {
      const std::string text = base64_encode(bytes, v);
      if (v == Base64::kUrl) {
        EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << text;
      }
      auto back = base64_decode(text, v);
      ASSERT_TRUE(back) << text;
      EXPECT_EQ(*back, bytes);
    }
    bytes += static_cast<char>(i * 37 + 200);
  }
}

TEST(Base64, StandardRejectsNonCanonicalText) {
  EXPECT_FALSE(base64_decode("Zg"));                           // padding missing
  EXPECT_FALSE(base64_decode("Zg="));                          // padding short
  EXPECT_FALSE(base64_decode("Zg==="));                        // padding long
  EXPECT_FALSE(base64_decode("Zh=="));                         // stray low bits
  EXPECT_FALSE(base64_decode("Z"));                            // a length no byte ends at
  EXPECT_FALSE(base64_decode("-_8="));                         // the url alphabet
  EXPECT_FALSE(base64_decode("Zm9v\n"));                       // whitespace
  EXPECT_FALSE(base64_decode(" Zm9v"));                        // whitespace
  EXPECT_FALSE(base64_decode("Zm9v!"));                        // outside the alphabet
  EXPECT_FALSE(base64_decode("Zg==Zm9v"));                     // text after the padding
  EXPECT_FALSE(base64_decode(std::string_view("Zm9v\0", 5)));  // NUL
}

TEST(Base64, UrlRejectsNonCanonicalText) {
  // What store/page_token's own decoder refused before it moved here.
  EXPECT_FALSE(base64_decode("Zg==", Base64::kUrl));   // padding
  EXPECT_FALSE(base64_decode("Zm9v+", Base64::kUrl));  // standard alphabet
  EXPECT_FALSE(base64_decode("+/8", Base64::kUrl));    // standard alphabet
  EXPECT_FALSE(base64_decode("Z", Base64::kUrl));      // a length no byte ends at
  EXPECT_FALSE(base64_decode("Zm9vZ", Base64::kUrl));  // the same, after a whole group
  EXPECT_FALSE(base64_decode("Zh", Base64::kUrl));     // stray low bits
  EXPECT_FALSE(base64_decode("Zm9", Base64::kUrl));    // stray low bits
  EXPECT_FALSE(base64_decode("Zm 9v", Base64::kUrl));  // whitespace
}

TEST(PercentEncode, KeepsLettersDigitsAndTheGivenSet) {
  EXPECT_EQ(percent_encode("aZ09-_.~/", ""), "aZ09%2D%5F%2E%7E%2F");
  EXPECT_EQ(percent_encode("aZ09-_.~/", "-_.~"), "aZ09-_.~%2F");
  EXPECT_EQ(percent_encode("a b/c", "/"), "a%20b/c");
  EXPECT_EQ(percent_encode(std::string("\x00\xff", 2), ""), "%00%FF");  // upper-case hex
  EXPECT_EQ(percent_encode("", "-"), "");
}

TEST(PercentDecode, DecodesEitherCase) {
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("a%20b%2fc%2F"), "a b/c/");
  EXPECT_EQ(percent_decode("%00%ff%FF"), std::string("\x00\xff\xff", 3));
  EXPECT_EQ(percent_decode("p%40ss%3Aword"), "p@ss:word");
  EXPECT_EQ(percent_decode("a+b"), "a+b");  // not form encoding
}

TEST(PercentDecode, KeepsBadEscapesAsWritten) {
  EXPECT_EQ(percent_decode("%"), "%");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("a%"), "a%");
  EXPECT_EQ(percent_decode("a%4"), "a%4");
  EXPECT_EQ(percent_decode("%zz%4g%g4"), "%zz%4g%g4");
  EXPECT_EQ(percent_decode("%%41"), "%A");    // the first '%' is kept, the second decodes
  EXPECT_EQ(percent_decode("%2541"), "%41");  // decoded once only
}

TEST(PercentDecode, InvertsPercentEncode) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(percent_decode(percent_encode(all, "")), all);
  EXPECT_EQ(percent_decode(percent_encode(all, "._-")), all);
}

TEST(Case, AsciiOnly) {
  EXPECT_EQ(to_lower(""), "");
  EXPECT_EQ(to_lower("GitHub_Enterprise-1.X"), "github_enterprise-1.x");
  EXPECT_EQ(to_upper("gitlab_self_managed@z"), "GITLAB_SELF_MANAGED@Z");
  EXPECT_EQ(to_lower("\xc3\x89T\xc3\x89"), "\xc3\x89t\xc3\x89");  // UTF-8 kept
  EXPECT_EQ(to_upper(std::string_view("a\0b", 3)), std::string_view("A\0B", 3));
  EXPECT_EQ(to_lower("@[`{"), "@[`{");  // the neighbours of the letters
  EXPECT_EQ(to_upper("@[`{"), "@[`{");
}

TEST(Case, Iequals) {
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(iequals("close", "closed"));
  EXPECT_FALSE(iequals("[", "{"));  // 0x5b and 0x7b differ by the case bit, but are not letters
  EXPECT_FALSE(iequals("\xc3\xa9", "\xc3\x89"));  // ASCII only
}

TEST(Trim, DefaultIsCLocaleWhitespace) {
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t\n\v\f\r"), "");
  EXPECT_EQ(trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim(std::string_view("\0a\0", 3)), std::string_view("\0a\0", 3));  // NUL is not space
  EXPECT_EQ(trim_left("  a  "), "a  ");
  EXPECT_EQ(trim_right("  a  "), "  a");
  EXPECT_EQ(trim_left("   "), "");
  EXPECT_EQ(trim_right("   "), "");
}

TEST(Trim, GivenCharacters) {
  EXPECT_EQ(trim(" \ta\r\n", " \t"), "a\r\n");
  EXPECT_EQ(trim("//a/b//", "/"), "a/b");
  EXPECT_EQ(trim("abc", ""), "abc");
  // curl_client's header trim: blanks before, blanks and the line's CRLF after.
  EXPECT_EQ(trim_right(trim_left(" \tvalue \r\n", " \t"), " \t\r\n"), "value");
  EXPECT_EQ(trim_right(trim_left("\rvalue\r\n", " \t"), " \t\r\n"), "\rvalue");
}

TEST(Split, KeepEmpty) {
  EXPECT_EQ(split("", ','), (Parts{""}));
  EXPECT_EQ(split("a", ','), (Parts{"a"}));
  EXPECT_EQ(split("a,b", ','), (Parts{"a", "b"}));
  EXPECT_EQ(split(",", ','), (Parts{"", ""}));
  EXPECT_EQ(split("a,,b,", ','), (Parts{"a", "", "b", ""}));
  EXPECT_EQ(split("arn:aws:secretsmanager:r:1:secret:n:k::", ':'),
            (Parts{"arn", "aws", "secretsmanager", "r", "1", "secret", "n", "k", "", ""}));
}

TEST(Split, SkipEmpty) {
  EXPECT_EQ(split("", '/', SplitMode::kSkipEmpty), Parts{});
  EXPECT_EQ(split("/", '/', SplitMode::kSkipEmpty), Parts{});
  EXPECT_EQ(split("//", '/', SplitMode::kSkipEmpty), Parts{});
  EXPECT_EQ(split("/a//b/", '/', SplitMode::kSkipEmpty), (Parts{"a", "b"}));
  EXPECT_EQ(split("a/./b", '/', SplitMode::kSkipEmpty), (Parts{"a", ".", "b"}));
  EXPECT_EQ(split("memory cpu  pids", ' ', SplitMode::kSkipEmpty),
            (Parts{"memory", "cpu", "pids"}));
}

TEST(Split, PartsAreViewsIntoTheText) {
  const std::string text = "ab:cd";
  const Parts parts = split(text, ':');
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].data(), text.data());
  EXPECT_EQ(parts[1].data(), text.data() + 3);
}

}  // namespace
}  // namespace kiln
