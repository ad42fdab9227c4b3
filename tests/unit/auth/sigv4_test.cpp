// SigV4 against known answers: the request the AWS CLI v1 put on the wire (the spec's worked
// example) and AWS's published get-vanilla suite.
#include "auth/sigv4.h"

#include <gtest/gtest.h>

#include <map>

#include "auth/amz_date.h"
#include "auth/digest.h"

namespace kiln::auth {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

class MapKeys final : public KeyLookup {
 public:
  void add(AccessKey k) { keys_[k.id] = std::move(k); }
  std::optional<AccessKey> find(std::string_view id) const override {
    auto it = keys_.find(std::string(id));
    if (it == keys_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, AccessKey> keys_;
};

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kCodebuild[] = {"codebuild"};
constexpr std::string_view kTestService[] = {"service"};

// The CLI v1 ListProjects capture of docs/reference/codebuild-api.md §1.1, every header as
// received.
Headers captured_headers() {
  return {
      {"host", "127.0.0.1:48123"},
      {"accept-encoding", "identity"},
      {"x-amz-target", "CodeBuild_20161006.ListProjects"},
      {"content-type", "application/x-amz-json-1.1"},
      {"user-agent",
       "aws-cli/1.45.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.18.44-fc-v669 md/arch#x86_64 "
       "lang/python#3.11.7 md/pyimpl#CPython m/C,N,Z,b,g,D cfg/retry-mode#legacy "
       "botocore/1.43.11"},
      {"x-amz-date", "20261122T025025Z"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/codebuild/aws4_request, "
       "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
       "Signature=64a6e28d16ed9412d59b0c5f1b55befd6a349f26ce6205cc082894c2c1e0dc16"},
      {"amz-sdk-invocation-id", "31f761e3-e1bf-4c96-bdab-8990abf8e456"},
      {"amz-sdk-request", "attempt=1"},
      {"content-length", "2"},
  };
}

std::int64_t at(std::string_view amz_date) {
  return parse_amz_date(amz_date).value();
}

TEST(SigV4Test, WorkedExampleCanonicalRequestMatchesByteForByte) {
  const Headers headers = captured_headers();
  const SignedRequest req{"POST", "/", "", &headers, "{}"};
  auto creq = canonical_request(req, "content-type;host;x-amz-date;x-amz-target");
  ASSERT_TRUE(creq) << creq.error().message;
  EXPECT_EQ(*creq,
            "POST\n"
            "/\n"
            "\n"
            "content-type:application/x-amz-json-1.1\n"
            "host:127.0.0.1:48123\n"
            "x-amz-date:20261122T025025Z\n"
            "x-amz-target:CodeBuild_20161006.ListProjects\n"
            "\n"
            "content-type;host;x-amz-date;x-amz-target\n"
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  const std::string sts =
      string_to_sign("20261122T025025Z", "20261122/us-east-1/codebuild/aws4_request", *creq);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n"
            "20261122T025025Z\n"
            "20261122/us-east-1/codebuild/aws4_request\n"
            "836193725f898bd14e95d21e935feae5d1c753019eac761283d057d579e7376b");
  EXPECT_EQ(compute_signature(kSecret, "20261122", "us-east-1", "codebuild", sts),
            "64a6e28d16ed9412d59b0c5f1b55befd6a349f26ce6205cc082894c2c1e0dc16");
}

TEST(SigV4Test, WorkedExampleVerifies) {
  MapKeys keys;
  keys.add({"AKIDEXAMPLE", kSecret, "alice"});
  const Headers headers = captured_headers();
  const SignedRequest req{"POST", "/", "", &headers, "{}"};
  auto id = verify(req, keys, at("20261122T025025Z"), kCodebuild);
  ASSERT_TRUE(id) << id.error().type << ": " << id.error().message;
  EXPECT_EQ(id->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(id->user, "alice");
  EXPECT_EQ(id->region, "us-east-1");
  EXPECT_EQ(id->service, "codebuild");
}

TEST(SigV4Test, ParsesTheAuthorizationHeader) {
  auto a = parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/eu-west-1/logs/aws4_request,"
      "SignedHeaders=host;x-amz-date ,  Signature=abc");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a->date, "20261122");
  EXPECT_EQ(a->region, "eu-west-1");
  EXPECT_EQ(a->service, "logs");
  EXPECT_EQ(a->signed_headers, "host;x-amz-date");
  EXPECT_EQ(a->signature, "abc");
  EXPECT_EQ(a->scope(), "20261122/eu-west-1/logs/aws4_request");
}

// AWS's SigV4 test suite (aws-sig-v4-test-suite): credentials AKIDEXAMPLE, region us-east-1,
// service "service", X-Amz-Date 20150830T123600Z.
struct SuiteCase {
  const char* name;
  const char* method;
  const char* path;
  const char* query;
  Headers extra;
  const char* signed_headers;
  const char* signature;
};

class AwsSuiteTest : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(AwsSuiteTest, SignsAndVerifies) {
  const SuiteCase& c = GetParam();
  Headers headers = {{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}};
  headers.insert(headers.end(), c.extra.begin(), c.extra.end());
  SignedRequest req{c.method, c.path, c.query, &headers, ""};
  const std::string expected =
      std::string(
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
          "aws4_request, SignedHeaders=") +
      c.signed_headers + ", Signature=" + c.signature;
  const AccessKey key{"AKIDEXAMPLE", kSecret, "suite"};
  EXPECT_EQ(sign_request(req, key, "us-east-1", "service"), expected);

  headers.emplace_back("authorization", expected);
  MapKeys keys;
  keys.add(key);
  auto id = verify(req, keys, at("20150830T123600Z"), kTestService);
  EXPECT_TRUE(id) << id.error().type << ": " << id.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, AwsSuiteTest,
    ::testing::Values(SuiteCase{"get_vanilla",
                                "GET",
                                "/",
                                "",
                                {},
                                "host;x-amz-date",
                                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
                      SuiteCase{"post_vanilla",
                                "POST",
                                "/",
                                "",
                                {},
                                "host;x-amz-date",
                                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
                      SuiteCase{"get_vanilla_query_order_key_case",
                                "GET",
                                "/",
                                "Param2=value2&Param1=value1",
                                {},
                                "host;x-amz-date",
                                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
                      SuiteCase{
                          "get_header_value_trim",
                          "GET",
                          "/",
                          "",
                          {{"my-header1", " value1"}, {"my-header2", " \"a   b   c\""}},
                          "host;my-header1;my-header2;x-amz-date",
                          "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"}),
    [](const ::testing::TestParamInfo<SuiteCase>& p) { return std::string(p.param.name); });

TEST(SigV4Test, GetVanillaCanonicalRequestHash) {
  const Headers headers = {{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}};
  auto creq = canonical_request({"GET", "/", "", &headers, ""}, "host;x-amz-date");
  ASSERT_TRUE(creq);
  EXPECT_EQ(sha256_hex(*creq), "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
}

TEST(SigV4Test, CanonicalUriNormalisesAndEncodesLikeBotocore) {
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/"), "/");
  EXPECT_EQ(canonical_uri("/codebuild-api"), "/codebuild-api");
  EXPECT_EQ(canonical_uri("/a/./b/../c"), "/a/c");
  EXPECT_EQ(canonical_uri("//a//b/"), "/a/b/");
  EXPECT_EQ(canonical_uri("/../.."), "/");
  EXPECT_EQ(canonical_uri("/space%20here"), "/space%2520here");  // encoded a second time
  EXPECT_EQ(canonical_uri("/a b~_.-\xc3\xa9"), "/a%20b~_.-%C3%A9");
}

TEST(SigV4Test, CanonicalQuerySortsPairsWithoutReencoding) {
  EXPECT_EQ(canonical_query(""), "");
  EXPECT_EQ(canonical_query("b=2&a=1&A=0"), "A=0&a=1&b=2");
  EXPECT_EQ(canonical_query("k=2&k=1&flag"), "flag=&k=1&k=2");
  EXPECT_EQ(canonical_query("x=a%20b"), "x=a%20b");
}

TEST(SigV4Test, CanonicalHeadersTrimCollapseAndJoinRepeats) {
  const Headers headers = {{"host", "h"},
                           {"x-amz-date", "20150830T123600Z"},
                           {"x-multi", "  a  "},
                           {"x-multi", "b \t  c"},
                           {"x-tabs", "\tone\t\ttwo three  "}};
  auto creq = canonical_request({"GET", "/", "", &headers, ""}, "host;x-multi;x-tabs");
  ASSERT_TRUE(creq);
  EXPECT_NE(creq->find("\nx-multi:a,b c\nx-tabs:one two three\n\n"), std::string::npos) << *creq;
}

TEST(SigV4Test, DeclaredContentSha256ReplacesTheBodyHash) {
  const Headers headers = {{"host", "h"}, {"x-amz-content-sha256", " UNSIGNED-PAYLOAD "}};
  auto creq = canonical_request({"POST", "/", "", &headers, "{}"}, "host");
  ASSERT_TRUE(creq);
  EXPECT_TRUE(creq->ends_with("\nhost\nUNSIGNED-PAYLOAD")) << *creq;
}

}  // namespace
}  // namespace kiln::auth
