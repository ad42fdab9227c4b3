// ListCuratedEnvironmentImages through Service::handle: CodeBuild's shape (platforms ->
// languages -> images), valid enum values only, and every curated image listed.
#include <gtest/gtest.h>

#include <set>

#include "api/service.h"
#include "image/catalog.h"
#include "secrets/secret_store.h"
#include "store/store.h"
#include "util/clock.h"

namespace kiln::api {
namespace {

using nlohmann::json;

class NoBuilds final : public BuildControl {
 public:
  void wake() override {}
  bool stop(const std::string&) override { return false; }
  bool stop_batch(const std::string&) override { return false; }
  Result<void> retry_batch(const std::string&, bool) override {
    return fail(ErrorCode::kInvalidArgument, "no batches here");
  }
};

class NoKeys final : public auth::KeyLookup {
 public:
  std::optional<auth::AccessKey> find(std::string_view) const override { return std::nullopt; }
};

class CuratedImagesTest : public ::testing::Test {
 protected:
  json list(const std::string& body = "{}") {
    http::Request req;
    req.method = "POST";
    req.target = req.path = "/";
    req.body = body;
    req.headers = {{"host", "127.0.0.1:7447"},
                   {"content-type", "application/x-amz-json-1.1"},
                   {"x-amz-target", "CodeBuild_20161006.ListCuratedEnvironmentImages"}};
    const http::Response r = service_.handle(req);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }

  FakeClock clock_;
  std::unique_ptr<store::Store> store_ = store::open_sqlite(":memory:").value();
  std::unique_ptr<secrets::SecretStore> secrets_ = secrets::memory_secret_store(clock_);
  NoKeys keys_;
  NoBuilds control_;
  Service service_{ServiceOptions{{"us-east-1", "123456789012"}, {"/nonexistent"}, true, 900, {}},
                   *store_,
                   *secrets_,
                   keys_,
                   control_,
                   clock_};
};

TEST_F(CuratedImagesTest, OneDebianPlatformWithTheCuratedImagesByLanguage) {
  const json out = list();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out["platforms"].size(), 1u);
  const json& platform = out["platforms"][0];
  EXPECT_EQ(platform["platform"], "DEBIAN");

  std::vector<std::string> languages;
  for (const auto& l : platform["languages"]) languages.push_back(l["language"]);
  EXPECT_EQ(languages,
            (std::vector<std::string>{"BASE", "GOLANG", "JAVA", "NODE_JS", "PYTHON", "DOCKER"}));
  const std::set<std::string> language_type = {"JAVA",   "PYTHON",  "NODE_JS", "RUBY", "GOLANG",
                                               "DOCKER", "ANDROID", "DOTNET",  "BASE", "PHP"};
  std::set<std::string> named;
  for (const auto& l : platform["languages"]) {
    EXPECT_TRUE(language_type.count(l["language"])) << l["language"];
    for (const auto& image : l["images"]) {
      EXPECT_EQ(image.size(), 3u) << image;  // name, description, versions: nothing else
      EXPECT_FALSE(image["description"].get<std::string>().empty());
      EXPECT_EQ(image["versions"], json::array({image["name"].get<std::string>() + ":latest"}));
      named.insert(image["name"]);
    }
  }
  std::set<std::string> curated;
  for (const auto& c : image::curated_images()) curated.insert(c.name);
  EXPECT_EQ(named, curated);

  EXPECT_EQ(platform["languages"][0]["images"].size(), 1u);  // BASE: kiln/minimal
  EXPECT_EQ(platform["languages"][0]["images"][0]["name"], "kiln/minimal");
  // PYTHON: both images that provide it, smallest first.
  EXPECT_EQ(platform["languages"][4]["images"][0]["name"], "kiln/standard");
  EXPECT_EQ(platform["languages"][4]["images"][1]["name"], "kiln/docker");
  EXPECT_EQ(platform["languages"][5]["images"].size(), 1u);  // DOCKER: kiln/docker
}

TEST_F(CuratedImagesTest, TheInputIsIgnoredAsCodeBuildDoes) {
  EXPECT_EQ(list(""), list("{}"));
  EXPECT_EQ(list(R"({"unexpected": 1})"), list("{}"));
}

}  // namespace
}  // namespace kiln::api
