#include "artifacts/local_uploader.h"

#include <gtest/gtest.h>

#include <map>

#include "artifacts/temp_tree.h"

namespace kiln::artifacts {
namespace {

using kiln::testing::read_file;
using kiln::testing::TempTree;
using kiln::testing::zip_names;
using Names = std::vector<std::string>;

class LocalUploaderTest : public ::testing::Test {
 protected:
  LocalUploaderTest() {
    t_.file("src/target/app.jar", "jar");
    t_.file("src/target/lib/dep.jar", "dep");
    t_.file("src/reports/junit.xml", "<xml/>");
    arts_.present = true;
    arts_.primary.files = {"target/**/*"};
    req_.artifacts = &arts_;
    req_.src_dir = t_.path("src");
    req_.output_dir = t_.path("out");
    req_.expand = [this](const std::string& s) -> Result<std::string> {
      // Enough of a shell for the tests: $NAME and ${NAME}.
      std::string out;
      for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '$') {
          out += s[i];
          continue;
        }
        const bool braced = i + 1 < s.size() && s[i + 1] == '{';
        std::size_t start = i + (braced ? 2 : 1), end = start;
        while (end < s.size() &&
               (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '_'))
          ++end;
        out += env_[s.substr(start, end - start)];
        i = end - (braced ? 0 : 1);
      }
      return out;
    };
  }

  UploadResult upload() {
    LocalArtifactUploader up;
    auto r = up.upload(req_, log_);
    EXPECT_TRUE(r) << r.error().describe();
    return r ? std::move(*r) : UploadResult{};
  }

  TempTree t_;
  spec::Artifacts arts_;
  UploadRequest req_;
  logs::MemorySink log_;
  std::map<std::string, std::string> env_;
};

TEST_F(LocalUploaderTest, PrimaryGoesToDefaultNameZip) {
  UploadResult r = upload();
  ASSERT_FALSE(r.failure) << r.failure->message;
  ASSERT_TRUE(r.primary);
  EXPECT_EQ(r.primary->location, t_.path("out/artifacts.zip"));
  EXPECT_TRUE(r.primary->location.is_absolute());
  EXPECT_EQ(r.primary->identifier, "");
  EXPECT_EQ(r.primary->file_count, 2U);
  EXPECT_EQ(r.primary->sha256.size(), 64U);
  EXPECT_EQ(r.primary->md5.size(), 32U);
  EXPECT_EQ(zip_names(r.primary->location), (Names{"target/app.jar", "target/lib/dep.jar"}));
  EXPECT_TRUE(r.secondary.empty());
}

TEST_F(LocalUploaderTest, NameIsShellExpanded) {
  env_["CODEBUILD_BUILD_NUMBER"] = "42";
  arts_.primary.name = "app-${CODEBUILD_BUILD_NUMBER}";
  UploadResult r = upload();
  ASSERT_TRUE(r.primary);
  EXPECT_EQ(r.primary->location, t_.path("out/app-42.zip"));
}

TEST_F(LocalUploaderTest, NameWithSlashesCreatesDirectories) {
  env_["CODEBUILD_BUILD_NUMBER"] = "7";
  arts_.primary.name = "builds/$CODEBUILD_BUILD_NUMBER/my-artifacts";
  UploadResult r = upload();
  ASSERT_FALSE(r.failure) << r.failure->message;
  EXPECT_EQ(r.primary->location, t_.path("out/builds/7/my-artifacts.zip"));
  EXPECT_TRUE(std::filesystem::is_regular_file(r.primary->location));
}

TEST_F(LocalUploaderTest, ZipExtensionIsNotDoubled) {
  arts_.primary.name = "release.zip";
  UploadResult r = upload();
  EXPECT_EQ(r.primary->location, t_.path("out/release.zip"));
}

TEST_F(LocalUploaderTest, EmptyExpandedNameFallsBackToDefault) {
  arts_.primary.name = "$UNSET";
  req_.default_name = "proj";
  UploadResult r = upload();
  EXPECT_EQ(r.primary->location, t_.path("out/proj.zip"));
}

TEST_F(LocalUploaderTest, NamesThatEscapeAreRejected) {
  for (const char* name : {"../../x", "a/../../x", "/etc/cron.d/x", "builds/", "..", "."}) {
    arts_.primary.name = name;
    UploadResult r = upload();
    ASSERT_TRUE(r.failure) << name;
    EXPECT_EQ(r.failure->status_code, "CLIENT_ERROR");
    EXPECT_EQ(r.failure->message.rfind("invalid artifact name ", 0), 0U) << r.failure->message;
  }
  EXPECT_FALSE(std::filesystem::exists(t_.path("x.zip")));
  EXPECT_FALSE(std::filesystem::exists(t_.path("out/artifacts.zip")));
}

TEST_F(LocalUploaderTest, NameThroughASymlinkOutOfTheOutputIsRejected) {
  t_.dir("elsewhere");
  t_.dir("out");
  t_.link("out/builds", t_.path("elsewhere").string());
  arts_.primary.name = "builds/x";
  UploadResult r = upload();
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->message,
            "invalid artifact name builds/x.zip: path escapes its root: builds/x.zip (through "
            "symlink builds -> " +
                t_.path("elsewhere").string() + ")");
  EXPECT_TRUE(std::filesystem::is_empty(t_.path("elsewhere")));
}

TEST_F(LocalUploaderTest, SecondaryArtifactsUseTheirIdentifiers) {
  spec::ArtifactSpec reports;
  reports.files = {"reports/*"};
  reports.name = "ignored-for-location";
  spec::ArtifactSpec libs;
  libs.files = {"target/lib/*"};
  libs.discard_paths = true;
  arts_.secondary = {{"reports_1", reports}, {"Libs", libs}};
  UploadResult r = upload();
  ASSERT_FALSE(r.failure) << r.failure->message;
  ASSERT_EQ(r.secondary.size(), 2U);
  EXPECT_EQ(r.secondary[0].identifier, "reports_1");
  EXPECT_EQ(r.secondary[0].location, t_.path("out/reports_1.zip"));
  EXPECT_EQ(r.secondary[1].identifier, "Libs");
  EXPECT_EQ(zip_names(r.secondary[1].location), Names{"dep.jar"});
  EXPECT_EQ(zip_names(r.secondary[0].location), Names{"reports/junit.xml"});
}

TEST_F(LocalUploaderTest, InvalidIdentifiersAreRejected) {
  spec::ArtifactSpec s;
  s.files = {"**/*"};
  for (const std::string& id :
       {std::string("has-dash"), std::string("a b"), std::string(128, 'a'), std::string("../x")}) {
    arts_.secondary = {{id, s}};
    UploadResult r = upload();
    ASSERT_TRUE(r.failure) << id;
    EXPECT_EQ(r.failure->message, "invalid artifact identifier " + id +
                                      ": use fewer than 128 letters, digits or underscores");
  }
  EXPECT_TRUE(valid_artifact_identifier(std::string(127, 'a')));
  EXPECT_TRUE(valid_artifact_identifier("Abc_09"));
}

TEST_F(LocalUploaderTest, SecondaryWithoutPrimaryFilesIsClientError) {
  spec::ArtifactSpec s;
  s.files = {"**/*"};
  arts_.primary.files.clear();
  arts_.secondary = {{"one", s}};
  UploadResult r = upload();
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->status_code, "CLIENT_ERROR");
  EXPECT_EQ(r.failure->message, "no definition for primary artifacts in buildspec");
  EXPECT_EQ(log_.text(), "");
}

TEST_F(LocalUploaderTest, NothingMatchedFailsAndWritesNothing) {
  arts_.primary.files = {"imagedefinitions.json"};
  UploadResult r = upload();
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->status_code, "CLIENT_ERROR");
  EXPECT_EQ(r.failure->message, "no matching artifact paths found");
  EXPECT_FALSE(r.primary);
  EXPECT_EQ(log_.text(),
            "Expanding base directory path: .\n"
            "Assembling file list\n"
            "Expanding .\n"
            "Expanding file paths for base directory .\n"
            "Assembling file list\n"
            "Expanding imagedefinitions.json\n"
            "Skipping invalid file path imagedefinitions.json\n");
  EXPECT_FALSE(std::filesystem::exists(t_.path("out")));
}

TEST_F(LocalUploaderTest, SecondaryMissFailsBeforeThePrimaryIsWritten) {
  spec::ArtifactSpec s;
  s.files = {"nothing/here"};
  arts_.secondary = {{"extra", s}};
  UploadResult r = upload();
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->message, "no matching artifact paths found");
  EXPECT_FALSE(std::filesystem::exists(t_.path("out/artifacts.zip")));
}

TEST_F(LocalUploaderTest, SecondaryWithoutFilesMatchesNothing) {
  arts_.secondary = {{"empty", spec::ArtifactSpec{}}};
  UploadResult r = upload();
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->message, "no matching artifact paths found");
}

TEST_F(LocalUploaderTest, PrimaryNameCollidingWithASecondaryIsRejected) {
  spec::ArtifactSpec s;
  s.files = {"**/*"};
  arts_.primary.name = "dup";
  arts_.secondary = {{"dup", s}};
  UploadResult r = upload();
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->message, "artifact dup.zip is defined twice");
}

TEST_F(LocalUploaderTest, PackagingNoneWritesFolders) {
  req_.packaging = Packaging::kNone;
  spec::ArtifactSpec s;
  s.files = {"reports/*"};
  arts_.secondary = {{"rep", s}};
  UploadResult r = upload();
  ASSERT_FALSE(r.failure) << r.failure->message;
  EXPECT_EQ(r.primary->location, t_.path("out/artifacts"));
  EXPECT_TRUE(r.primary->sha256.empty());
  EXPECT_TRUE(r.primary->md5.empty());
  EXPECT_EQ(read_file(t_.path("out/artifacts/target/lib/dep.jar")), "dep");
  EXPECT_EQ(read_file(t_.path("out/rep/reports/junit.xml")), "<xml/>");
}

TEST_F(LocalUploaderTest, AbsentArtifactsProduceNothing) {
  arts_.present = false;
  UploadResult r = upload();
  EXPECT_FALSE(r.failure);
  EXPECT_FALSE(r.primary);
  EXPECT_EQ(log_.text(), "");
}

TEST_F(LocalUploaderTest, SecondRunReplacesTheZip) {
  ASSERT_TRUE(upload().primary);
  t_.file("src/target/new.jar", "new");
  UploadResult r = upload();
  ASSERT_TRUE(r.primary);
  EXPECT_EQ(r.primary->file_count, 3U);
  EXPECT_EQ(zip_names(r.primary->location).size(), 3U);
}

TEST_F(LocalUploaderTest, OutputInsideTheSourceIsNotPackedAgain) {
  req_.output_dir = t_.path("src/kiln-artifacts");
  arts_.primary.files = {"**/*"};
  ASSERT_TRUE(upload().primary);
  UploadResult again = upload();
  ASSERT_TRUE(again.primary);
  EXPECT_EQ(zip_names(again.primary->location),
            (Names{"reports/junit.xml", "target/app.jar", "target/lib/dep.jar"}));
}

TEST_F(LocalUploaderTest, EveryKeyTogether) {
  t_.file("src/out/linux/bin/tool", "tool", 0755);
  t_.file("src/out/linux/bin/tool.debug", "dbg");
  t_.file("src/out/linux/share/doc.txt", "doc");
  t_.link("src/out/linux/bin/tool-link", "tool");
  env_["PLATFORM"] = "linux";
  arts_.primary.files = {"**/*"};
  arts_.primary.name = "tool-$PLATFORM";
  arts_.primary.base_directory = "out/$PLATFORM";
  arts_.primary.exclude_paths = {"**/*.debug"};
  arts_.primary.discard_paths = true;
  arts_.primary.enable_symlinks = true;
  arts_.primary.s3_prefix = "ignored/locally";
  UploadResult r = upload();
  ASSERT_FALSE(r.failure) << r.failure->message;
  EXPECT_EQ(r.primary->location, t_.path("out/tool-linux.zip"));
  auto items = kiln::testing::read_zip(r.primary->location);
  ASSERT_EQ(items.size(), 3U);
  EXPECT_EQ(items[0].path, "doc.txt");
  EXPECT_EQ(items[1].path, "tool");
  EXPECT_EQ(items[1].perm, 0755U);
  EXPECT_EQ(items[2].path, "tool-link");
  EXPECT_EQ(items[2].symlink, "tool");
}

}  // namespace
}  // namespace kiln::artifacts
