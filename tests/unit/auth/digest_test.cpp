// The hashing under SigV4 (against OpenSSL as an independent oracle), the signing-key cache, and
// X-Amz-Date parsing and formatting.
#include "auth/digest.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <map>
#include <thread>

#include "auth/amz_date.h"
#include "auth/sigv4.h"
#include "util/string.h"

namespace kiln::auth {
namespace {

std::string openssl_hmac_hex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  Digest d{};
  std::copy(out, out + len, d.begin());
  return to_hex(d);
}

TEST(DigestTest, Sha256KnownAnswers) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("{}"), "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
}

TEST(DigestTest, SigningKeyMatchesOpenSsl) {
  // The chain written out with OpenSSL, one HMAC at a time.
  const std::string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  const auto step = [](std::string_view key, std::string_view msg) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
  };
  std::string k = step("AWS4" + secret, "20150830");
  for (const char* part : {"us-east-1", "iam", "aws4_request"}) k = step(k, part);
  // AWS's documented kSigning for this example.
  EXPECT_EQ(to_hex(derive_signing_key(secret, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  Digest expected{};
  std::copy(k.begin(), k.end(), expected.begin());
  EXPECT_EQ(derive_signing_key(secret, "20150830", "us-east-1", "iam"), expected);

  const std::string message(10000, 'x');
  EXPECT_EQ(to_hex(hmac_sha256(expected, message)), openssl_hmac_hex(k, message));
}

TEST(DigestTest, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "bbc"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(SigningKeyCacheTest, ReturnsDerivedKeysAndStaysBounded) {
  SigningKeyCache cache(2);
  EXPECT_EQ(cache.get("s1", "20261122", "us-east-1", "codebuild"),
            derive_signing_key("s1", "20261122", "us-east-1", "codebuild"));
  EXPECT_EQ(cache.get("s1", "20261122", "us-east-1", "codebuild"),
            derive_signing_key("s1", "20261122", "us-east-1", "codebuild"));
  EXPECT_EQ(cache.size(), 1u);
  // Different secrets, and parts that would collide if simply concatenated, stay apart.
  EXPECT_EQ(cache.get("s2", "20261122", "us-east-1", "codebuild"),
            derive_signing_key("s2", "20261122", "us-east-1", "codebuild"));
  EXPECT_EQ(cache.get("/s1", "20261122", "us-east-1", "codebuil"),
            derive_signing_key("/s1", "20261122", "us-east-1", "codebuil"));
  EXPECT_LE(cache.size(), 2u);
  EXPECT_NE(cache.get("s1", "20261122", "us-east-1", "codebuild"),
            cache.get("s2", "20261122", "us-east-1", "codebuild"));
}

class ThreadKeys final : public KeyLookup {
 public:
  std::optional<AccessKey> find(std::string_view id) const override {
    return AccessKey{std::string(id), "secret-of-" + std::string(id), "u"};
  }
};

TEST(SigningKeyCacheTest, ConcurrentVerification) {
  // Many threads and keys through the process-wide cache: every request still verifies and no
  // thread sees another's key (run under TSan to check the locking).
  ThreadKeys keys;
  constexpr std::string_view services[] = {"codebuild"};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string id = "AKID" + std::to_string((t * 7 + i) % 300);
        std::vector<std::pair<std::string, std::string>> headers = {
            {"host", "h"}, {"x-amz-date", "20261122T025025Z"}};
        const std::string body = std::to_string(i);
        SignedRequest req{"POST", "/", "", &headers, body};
        headers.emplace_back("authorization",
                             sign_request(req, *keys.find(id), "us-east-1", "codebuild"));
        if (!verify(req, keys, parse_amz_date("20261122T025025Z").value(), services)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(AmzDateTest, ParsesTheBasicFormat) {
  EXPECT_EQ(parse_amz_date("19700101T000000Z"), 0);
  EXPECT_EQ(parse_amz_date("20261122T025025Z"), 1795315825);
  EXPECT_EQ(parse_amz_date("20240229T235959Z"), 1709251199);
  for (const char* bad :
       {"", "20261122T025025", "20261122t025025Z", "2026-11-22T02:50:25Z", "20261122T025025Z ",
        "20261322T025025Z", "20230229T000000Z", "20261100T000000Z", "20261122T240000Z",
        "20261122T006000Z", "20261122T000060Z", "2026112aT000000Z", "-0261122T000000Z"}) {
    EXPECT_EQ(parse_amz_date(bad), std::nullopt) << bad;
  }
}

TEST(AmzDateTest, FormatsAndRoundTrips) {
  EXPECT_EQ(format_amz_date(0), "19700101T000000Z");
  EXPECT_EQ(format_amz_date(1795315825), "20261122T025025Z");
  EXPECT_EQ(format_amz_date(1709251199), "20240229T235959Z");
  for (std::int64_t t : {0LL, 86399LL, 951782400LL, 1700000000LL, 4102444800LL}) {
    EXPECT_EQ(parse_amz_date(format_amz_date(t)), t) << t;
  }
}

}  // namespace
}  // namespace kiln::auth
