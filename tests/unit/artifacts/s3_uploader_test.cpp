// S3 artifact object keys (docs/reference/codebuild-semantics.md §5.3) and the upload through
// S3Client, against a recording HTTP client: which objects are written, with which metadata and
// encryption.
#include "artifacts/s3_uploader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "artifacts/temp_tree.h"
#include "logs/log_sink.h"

namespace kiln::artifacts {
namespace {

S3ArtifactTarget target(std::string path, bool build_id, std::string name) {
  S3ArtifactTarget t;
  t.bucket = "b";
  t.path = std::move(path);
  t.namespace_build_id = build_id;
  t.name = std::move(name);
  return t;
}

TEST(S3ArtifactKey, FollowsPathNamespaceAndName) {
  EXPECT_EQ(
      S3ArtifactUploader::object_key(target("MyArtifacts", false, "out.zip"), "out.zip", "u1", ""),
      "MyArtifacts/out.zip");
  EXPECT_EQ(
      S3ArtifactUploader::object_key(target("MyArtifacts", true, "out.zip"), "out.zip", "u1", ""),
      "MyArtifacts/u1/out.zip");
  // name "/" with no path: the bucket root; with a path and BUILD_ID: <path>/<build id>.
  EXPECT_EQ(S3ArtifactUploader::object_key(target("", false, "/"), "/", "u1", ""), "");
  EXPECT_EQ(S3ArtifactUploader::object_key(target("MyArtifacts", true, "/"), "/", "u1", ""),
            "MyArtifacts/u1");
  // The buildspec's s3-prefix replaces the path, with BUILD_ID only.
  EXPECT_EQ(S3ArtifactUploader::object_key(target("p", true, "a.zip"), "a.zip", "u1", "pre/x"),
            "pre/x/u1/a.zip");
  EXPECT_EQ(S3ArtifactUploader::object_key(target("p", false, "a.zip"), "a.zip", "u1", "pre"),
            "p/a.zip");
  // Slashes in names make folders; leading and trailing ones are dropped.
  EXPECT_EQ(S3ArtifactUploader::object_key(target("/p/", false, "/b/7/a/"), "/b/7/a/", "u1", ""),
            "p/b/7/a");
}

// Answers every request with 200 and remembers it.
class RecordingHttp final : public net::HttpClient {
 public:
  struct Seen {
    std::string method, url;
    std::map<std::string, std::string> headers;
    std::string body;
  };
  std::vector<Seen> seen;
  long status = 200;
  std::string error_body;
  Result<net::HttpResponse> send(const net::HttpRequest& req) override {
    Seen s{req.method, req.url, {}, req.body};
    for (const auto& [k, v] : req.headers) s.headers[k] = v;
    if (req.body_source) {
      std::string buf(1 << 16, '\0');
      for (std::size_t n; (n = req.body_source(buf.data(), buf.size())) > 0;)
        s.body.append(buf, 0, n);
    }
    seen.push_back(std::move(s));
    net::HttpResponse r;
    r.status = status;
    r.body = status == 200 ? "" : error_body;
    r.headers.emplace_back("etag", "\"e\"");
    return r;
  }
};

class S3UploadTest : public ::testing::Test {
 protected:
  kiln::testing::TempTree tree;
  RecordingHttp http;
  net::S3Client client{
      http, net::S3Config{.endpoint = "http://s3.test", .credentials = {"AK", "SK", ""}}};
  spec::Artifacts arts;
  logs::MemorySink log;

  S3UploadTest() {
    tree.file("src/dist/a.txt", "alpha");
    tree.file("src/dist/sub/b.txt", "beta");
    arts.present = true;
    arts.primary.files = {"**/*"};
    arts.primary.base_directory = "dist";
    arts.primary.name = "named-by-buildspec.zip";
  }

  Result<UploadResult> upload(S3UploadSettings settings) {
    S3ArtifactUploader up([this]() -> Result<net::S3Client*> { return &client; },
                          std::move(settings));
    UploadRequest req;
    req.artifacts = &arts;
    req.src_dir = tree.path("src");
    req.output_dir = tree.path("staging");
    return up.upload(req, log);
  }
};

TEST_F(S3UploadTest, ZipGoesToOneObjectWithBuildArnMetadataAndSse) {
  S3UploadSettings s;
  S3ArtifactTarget t = target("out", true, "project.zip");
  t.packaging = Packaging::kZip;
  s.targets = {t};
  s.build_uuid = "u-1";
  s.build_arn = "arn:aws:codebuild:us-east-1:0:build/p:u-1";
  auto r = upload(s);
  ASSERT_TRUE(r) << r.error().describe();
  ASSERT_FALSE(r->failure) << r->failure->message;
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_EQ(http.seen[0].method, "PUT");
  EXPECT_EQ(http.seen[0].url, "http://s3.test/b/out/u-1/project.zip");
  EXPECT_EQ(http.seen[0].headers["x-amz-meta-codebuild-buildarn"], s.build_arn);
  EXPECT_EQ(http.seen[0].headers["x-amz-server-side-encryption"], "AES256");
  EXPECT_EQ(http.seen[0].body.substr(0, 2), "PK");
  ASSERT_TRUE(r->primary);
  EXPECT_EQ(r->primary->location, "arn:aws:s3:::b/out/u-1/project.zip");
  EXPECT_EQ(r->primary->sha256.size(), 64u);
}

TEST_F(S3UploadTest, OverrideArtifactNameUsesTheBuildspecNameAndKmsKey) {
  S3UploadSettings s;
  S3ArtifactTarget t = target("", false, "project.zip");
  t.packaging = Packaging::kZip;
  t.override_name = true;
  s.targets = {t};
  s.encryption_key = "arn:aws:kms:us-east-1:0:key/k1";
  auto r = upload(s);
  ASSERT_TRUE(r && !r->failure);
  ASSERT_EQ(http.seen.size(), 1u);
  EXPECT_EQ(http.seen[0].url, "http://s3.test/b/named-by-buildspec.zip");
  EXPECT_EQ(http.seen[0].headers["x-amz-server-side-encryption"], "aws:kms");
  EXPECT_EQ(http.seen[0].headers["x-amz-server-side-encryption-aws-kms-key-id"],
            "arn:aws:kms:us-east-1:0:key/k1");
}

TEST_F(S3UploadTest, NonePackagingUploadsEachFileAndEncryptionCanBeDisabled) {
  S3UploadSettings s;
  S3ArtifactTarget t = target("p", false, "site");
  t.encryption_disabled = true;
  s.targets = {t};
  auto r = upload(s);
  ASSERT_TRUE(r && !r->failure);
  std::vector<std::string> urls;
  for (const auto& x : http.seen) {
    urls.push_back(x.url);
    EXPECT_EQ(x.headers.count("x-amz-server-side-encryption"), 0u);
  }
  std::sort(urls.begin(), urls.end());
  EXPECT_EQ(urls, (std::vector<std::string>{"http://s3.test/b/p/site/a.txt",
                                            "http://s3.test/b/p/site/sub/b.txt"}));
  EXPECT_EQ(r->primary->location, "arn:aws:s3:::b/p/site");
  EXPECT_TRUE(r->primary->sha256.empty());
}

TEST_F(S3UploadTest, SecondaryArtifactWithoutProjectTargetIsClientError) {
  arts.secondary.push_back({"extra", arts.primary});
  S3UploadSettings s;
  s.targets = {target("", false, "x")};
  auto r = upload(s);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->failure);
  EXPECT_EQ(r->failure->message,
            "secondary artifact extra is not defined in the project's secondaryArtifacts");
  EXPECT_TRUE(http.seen.empty());
}

TEST_F(S3UploadTest, SecondaryArtifactsGoToTheirOwnTargets) {
  arts.secondary.push_back({"extra", arts.primary});
  S3UploadSettings s;
  S3ArtifactTarget p = target("", false, "main");
  S3ArtifactTarget x = target("sec", false, "extra.zip");
  x.identifier = "extra";
  x.packaging = Packaging::kZip;
  s.targets = {p, x};
  auto r = upload(s);
  ASSERT_TRUE(r && !r->failure);
  ASSERT_EQ(r->secondary.size(), 1u);
  EXPECT_EQ(r->secondary[0].location, "arn:aws:s3:::b/sec/extra.zip");
  EXPECT_EQ(r->secondary[0].identifier, "extra");
}

TEST_F(S3UploadTest, StoreErrorFailsTheUploadWithItsMessage) {
  http.status = 404;
  http.error_body =
      "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket "
      "does not exist</Message></Error>";
  S3UploadSettings s;
  S3ArtifactTarget t = target("", false, "a.zip");
  t.packaging = Packaging::kZip;
  s.targets = {t};
  auto r = upload(s);
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->failure);
  EXPECT_EQ(r->failure->status_code, "CLIENT_ERROR");
  EXPECT_EQ(r->failure->message,
            "Failed to upload artifacts: NoSuchBucket: The specified bucket does not exist");
}

}  // namespace
}  // namespace kiln::artifacts
