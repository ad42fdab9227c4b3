// Delivery signatures as each provider makes them (tests/corpus/webhooks/README.md "Signing a
// payload in a test"), over the corpus files' exact bytes. OpenSSL's HMAC is the independent
// oracle for nettle's (the tests link libcrypto; kiln does not).
#include "webhook/signature.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "util/string.h"

namespace kiln::webhook {
namespace {

namespace fs = std::filesystem;

// tests/unit/webhook/signature_test.cpp -> the repository root.
const fs::path kCorpus =
    fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() / "tests" /
    "corpus" / "webhooks";

const std::string kSecret = "It's a Secret to Everybody";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string openssl_signature(const std::string& secret, const std::string& body) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), out, &len);
  return "sha256=" + to_hex(std::string_view(reinterpret_cast<const char*>(out), len));
}

std::string refusal(Provider p, const Headers& h, const std::string& body,
                    const std::string& secret = kSecret) {
  auto r = verify_signature(p, h, body, secret);
  if (r) return "accepted";
  EXPECT_EQ(r.error().code(), ErrorCode::kPermission);
  return r.error().message();
}

TEST(WebhookSignature, GitHubKnownAnswer) {
  const std::string sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  EXPECT_EQ(hub_signature(kSecret, "Hello, World!"), sig);
  EXPECT_EQ(refusal(Provider::kGitHub, {{"x-hub-signature-256", sig}}, "Hello, World!"),
            "accepted");
}

TEST(WebhookSignature, EveryCorpusFileAsItsProviderSignsIt) {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kCorpus)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const std::string body = read_file(entry.path());
    const std::string provider = entry.path().parent_path().filename();
    const std::string sig = hub_signature(kSecret, body);
    EXPECT_EQ(sig, openssl_signature(kSecret, body)) << entry.path();
    if (provider == "github") {
      EXPECT_EQ(refusal(Provider::kGitHub, {{"x-hub-signature-256", sig}}, body), "accepted");
    } else if (provider == "bitbucket") {
      EXPECT_EQ(refusal(Provider::kBitbucket, {{"x-hub-signature", sig}}, body), "accepted");
    } else {
      EXPECT_EQ(refusal(Provider::kGitLab, {{"x-gitlab-token", kSecret}}, body), "accepted");
    }
  }
  EXPECT_EQ(files, 26);
}

TEST(WebhookSignature, FlippedByteAndReserialisedBody) {
  const std::string body = read_file(kCorpus / "github" / "push-branch.json");
  const Headers h = {{"x-hub-signature-256", hub_signature(kSecret, body)}};
  std::string flipped = body;
  flipped[flipped.size() / 2] ^= 0x01;
  EXPECT_EQ(refusal(Provider::kGitHub, h, flipped),
            "X-Hub-Signature-256 does not match the body signed with the secret");
  // The file is compact JSON with "\/" escapes: the same document written back differs in bytes.
  std::string reserialised = body;
  std::string::size_type at = 0;
  while ((at = reserialised.find("\\/", at)) != std::string::npos) reserialised.erase(at, 1);
  ASSERT_NE(reserialised, body);
  EXPECT_EQ(refusal(Provider::kGitHub, h, reserialised),
            "X-Hub-Signature-256 does not match the body signed with the secret");
}

TEST(WebhookSignature, MissingHeaderWrongPrefixWrongSecret) {
  const std::string body = read_file(kCorpus / "github" / "pull_request-opened.json");
  const std::string sig = hub_signature(kSecret, body);
  EXPECT_EQ(refusal(Provider::kGitHub, {}, body), "X-Hub-Signature-256 is missing");
  // Only the legacy SHA-1 header: refused, as a missing one.
  EXPECT_EQ(refusal(Provider::kGitHub, {{"x-hub-signature", "sha1=" + std::string(40, 'a')}}, body),
            "X-Hub-Signature-256 is missing");
  const std::string form = "X-Hub-Signature-256 is not of the form sha256=<64 hex digits>";
  EXPECT_EQ(refusal(Provider::kGitHub, {{"x-hub-signature-256", "sha1=" + sig.substr(7)}}, body),
            form);
  EXPECT_EQ(refusal(Provider::kGitHub, {{"x-hub-signature-256", sig.substr(7)}}, body), form);
  EXPECT_EQ(refusal(Provider::kGitHub, {{"x-hub-signature-256", sig + "00"}}, body), form);
  EXPECT_EQ(refusal(Provider::kGitHub, {{"x-hub-signature-256", sig.substr(0, 70) + "zz"}}, body),
            form);
  EXPECT_EQ(
      refusal(Provider::kGitHub, {{"x-hub-signature-256", hub_signature("other", body)}}, body),
      "X-Hub-Signature-256 does not match the body signed with the secret");
}

TEST(WebhookSignature, UppercaseHexIsTheSameSignature) {
  const std::string body = "{}";
  const std::string sig = hub_signature(kSecret, body);
  EXPECT_EQ(refusal(Provider::kGitHub,
                    {{"x-hub-signature-256", "sha256=" + to_upper(sig.substr(7))}}, body),
            "accepted");
}

TEST(WebhookSignature, LongAndShortSecretsAreHmacKeys) {
  // Keys longer than SHA-256's 64-byte block are hashed first, shorter ones padded (RFC 2104).
  const std::string body = read_file(kCorpus / "bitbucket" / "repo-push.json");
  for (const std::string& secret :
       {std::string("k"), std::string(64, 'k'), std::string(200, 'k')}) {
    EXPECT_EQ(hub_signature(secret, body), openssl_signature(secret, body)) << secret.size();
  }
}

TEST(WebhookSignature, BitbucketUsesXHubSignature) {
  const std::string body = read_file(kCorpus / "bitbucket" / "pullrequest-created.json");
  const std::string sig = hub_signature(kSecret, body);
  EXPECT_EQ(refusal(Provider::kBitbucket, {{"x-hub-signature", sig}}, body), "accepted");
  EXPECT_EQ(refusal(Provider::kBitbucket, {{"x-hub-signature-256", sig}}, body),
            "X-Hub-Signature is missing");
  EXPECT_EQ(refusal(Provider::kBitbucket, {{"x-hub-signature", hub_signature("x", body)}}, body),
            "X-Hub-Signature does not match the body signed with the secret");
}

TEST(WebhookSignature, GitLabToken) {
  const std::string body = read_file(kCorpus / "gitlab" / "push.json");
  EXPECT_EQ(refusal(Provider::kGitLab, {{"x-gitlab-token", kSecret}}, body), "accepted");
  EXPECT_EQ(refusal(Provider::kGitLab, {{"x-gitlab-token", kSecret + " "}}, body),
            "X-Gitlab-Token does not match the secret");
  EXPECT_EQ(refusal(Provider::kGitLab, {{"x-gitlab-token", ""}}, body),
            "X-Gitlab-Token does not match the secret");
  EXPECT_EQ(refusal(Provider::kGitLab, {}, body), "X-Gitlab-Token is missing");
  // A GitHub-style signature is not a GitLab token.
  EXPECT_EQ(
      refusal(Provider::kGitLab, {{"x-hub-signature-256", hub_signature(kSecret, body)}}, body),
      "X-Gitlab-Token is missing");
}

TEST(WebhookSignature, NoSecretAcceptsAnyDelivery) {
  EXPECT_EQ(refusal(Provider::kGitHub, {}, "anything", ""), "accepted");
  EXPECT_EQ(refusal(Provider::kGitLab, {{"x-gitlab-token", "x"}}, "anything", ""), "accepted");
  EXPECT_EQ(refusal(Provider::kBitbucket, {}, "anything", ""), "accepted");
}

TEST(WebhookSignature, NewSecretsAreRandomHex) {
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) {
    const std::string s = new_secret();
    ASSERT_EQ(s.size(), 64u);
    EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 16u);
}

}  // namespace
}  // namespace kiln::webhook
