// The curated catalog, CodeBuild image-name mapping and runtime-versions selection
// (image/catalog.h): every message asserted word for word, as the engine reports them.
#include "image/catalog.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace kiln::image {
namespace {

using Requested = std::vector<std::pair<std::string, std::string>>;

const ImageRuntimes& runtimes_of(const std::string& name) {
  const CuratedImage* image = find_curated(name);
  EXPECT_NE(image, nullptr) << name;
  return image->runtimes;
}

std::string error_of(const std::string& image, const Requested& requested) {
  auto r = select_runtimes(runtimes_of(image), requested);
  EXPECT_FALSE(r) << "selecting on " << image << " succeeded";
  return r ? "" : r.error().message;
}

TEST(Catalog, ImagesAreLayeredSmallestFirst) {
  const auto& images = curated_images();
  ASSERT_EQ(images.size(), 3u);
  EXPECT_EQ(images[0].name, "kiln/minimal");
  EXPECT_EQ(images[0].base, "");
  EXPECT_TRUE(images[0].packages.empty());
  EXPECT_TRUE(images[0].runtimes.empty());
  EXPECT_EQ(images[1].name, "kiln/standard");
  EXPECT_EQ(images[1].base, "kiln/minimal");
  EXPECT_EQ(images[2].name, "kiln/docker");
  EXPECT_EQ(images[2].base, "kiln/standard");
  // Each image holds all of its base's packages, in the same order, then its own.
  const auto standard = all_packages(images[1]);
  const auto docker = all_packages(images[2]);
  ASSERT_EQ(docker.size(), standard.size() + 1);
  EXPECT_TRUE(std::equal(standard.begin(), standard.end(), docker.begin()));
  EXPECT_EQ(docker.back(), "docker.io");
  for (const char* p : {"git", "curl", "ca-certificates", "zip", "unzip", "python3", "nodejs",
                        "default-jdk-headless", "golang-go", "make", "gcc", "g++", "libc6-dev"}) {
    EXPECT_NE(std::find(standard.begin(), standard.end(), p), standard.end()) << p;
  }
  // kiln/docker provides everything kiln/standard does, and docker.
  for (const auto& r : images[1].runtimes) {
    EXPECT_NE(std::find_if(images[2].runtimes.begin(), images[2].runtimes.end(),
                           [&](const Runtime& d) { return d.name == r.name; }),
              images[2].runtimes.end())
        << r.name;
  }
}

TEST(Catalog, FindsCuratedNamesWithOrWithoutLatest) {
  EXPECT_EQ(find_curated("kiln/minimal")->name, "kiln/minimal");
  EXPECT_EQ(find_curated("kiln/docker:latest")->name, "kiln/docker");
  EXPECT_EQ(find_curated("kiln/docker:1.0"), nullptr);
  EXPECT_EQ(find_curated("kiln/host"), nullptr);
  EXPECT_EQ(find_curated("minimal"), nullptr);
}

TEST(MapImage, CodeBuildImagesMapToTheNearestCuratedImage) {
  struct Case {
    std::string requested;
    std::string image;
  };
  const Case cases[] = {
      {"aws/codebuild/standard:7.0", "kiln/standard"},
      {"aws/codebuild/standard:5.0", "kiln/standard"},
      {"aws/codebuild/amazonlinux2-x86_64-standard:5.0", "kiln/standard"},
      {"aws/codebuild/amazonlinux2-x86_64-standard:4.0", "kiln/standard"},
      {"aws/codebuild/amazonlinux-x86_64-standard:5.0", "kiln/standard"},
      {"aws/codebuild/amazonlinux2-aarch64-standard:3.0", "kiln/standard"},
      {"aws/codebuild/amazonlinux-aarch64-standard:3.0", "kiln/standard"},
      {"aws/codebuild/amazonlinux-x86_64-lambda-standard:python3.12", "kiln/standard"},
      {"aws/codebuild/amazonlinux2-x86_64-standard:corretto11", "kiln/standard"},
      {"aws/codebuild/ubuntu-base:14.04", "kiln/standard"},
      {"aws/codebuild/python:3.7.1", "kiln/standard"},
      {"aws/codebuild/nodejs:10.14.1", "kiln/standard"},
      {"aws/codebuild/docker:18.09.0", "kiln/docker"},
      {"public.ecr.aws/codebuild/amazonlinux2-x86_64-standard:3.0", "kiln/standard"},
      {"public.ecr.aws/codebuild/docker:19.03.1", "kiln/docker"},
  };
  for (const auto& c : cases) {
    const MappedImage m = map_image(c.requested);
    EXPECT_EQ(m.image, c.image) << c.requested;
    ASSERT_NE(m.curated, nullptr) << c.requested;
    EXPECT_EQ(m.curated->name, c.image);
    EXPECT_EQ(m.note, "Image " + c.requested + " is not available here: using " + c.image +
                          ", the nearest curated image");
  }
}

TEST(MapImage, PrivilegedProjectsGetTheDockerImage) {
  const MappedImage m = map_image("aws/codebuild/standard:7.0", /*wants_docker=*/true);
  EXPECT_EQ(m.image, "kiln/docker");
  EXPECT_EQ(m.note,
            "Image aws/codebuild/standard:7.0 is not available here: using kiln/docker, the "
            "nearest curated image");
  // A curated name is taken as asked for, privileged or not.
  EXPECT_EQ(map_image("kiln/minimal", true).image, "kiln/minimal");
}

TEST(MapImage, CuratedNamesAreUsedAsTheyAre) {
  for (const char* name : {"kiln/minimal", "kiln/minimal:latest", "kiln/standard", "kiln/docker"}) {
    const MappedImage m = map_image(name);
    ASSERT_NE(m.curated, nullptr) << name;
    EXPECT_EQ(m.image, m.curated->name);
    EXPECT_EQ(m.note, "");
  }
}

TEST(MapImage, OtherImagesPassThroughUnchanged) {
  for (const char* name :
       {"ubuntu:22.04", "debian", "registry.example.com:5000/team/img:1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/aws/codebuild/x:1", "kiln/host",
        "kiln/minimal:2", "public.ecr.aws/docker/library/node:20", "awscodebuild/standard:7.0"}) {
    const MappedImage m = map_image(name);
    EXPECT_EQ(m.image, name);
    EXPECT_EQ(m.curated, nullptr) << name;
    EXPECT_EQ(m.note, "") << name;
  }
}

TEST(MapImage, WindowsAndMacImagesKeepTheirNameWithANote) {
  const MappedImage w = map_image("aws/codebuild/windows-base:2019-3.0");
  EXPECT_EQ(w.image, "aws/codebuild/windows-base:2019-3.0");
  EXPECT_EQ(w.curated, nullptr);
  EXPECT_EQ(w.note,
            "Image aws/codebuild/windows-base:2019-3.0 has no counterpart here: Kiln runs Linux "
            "images only");
  EXPECT_EQ(map_image("aws/codebuild/macos-arm-base:14").curated, nullptr);
}

TEST(SelectRuntimes, NoRequestSelectsEveryDefault) {
  auto r = select_runtimes(runtimes_of("kiln/standard"), {});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->runtimes.size(), 4u);
  EXPECT_TRUE(r->log.empty());
  EXPECT_EQ(r->runtimes[1].name, "java");
  EXPECT_EQ(r->runtimes[1].requested, "");
  const auto env = r->runtimes[1].env;
  ASSERT_EQ(env.size(), 1u);
  EXPECT_EQ(env[0].first, "JAVA_HOME");
  EXPECT_EQ(env[0].second, "/usr/lib/jvm/default-java");
}

TEST(SelectRuntimes, ExactMajorXLatestAndAliases) {
  auto r = select_runtimes(
      runtimes_of("kiln/standard"),
      {{"python", "3.x"}, {"nodejs", "18"}, {"java", "corretto17"}, {"golang", "latest"}});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->runtimes.size(), 4u);
  EXPECT_EQ(r->runtimes[0].name, "python");  // in the buildspec's order
  EXPECT_EQ(r->runtimes[0].version, "3.11");
  EXPECT_EQ(r->runtimes[0].requested, "3.x");
  EXPECT_EQ(r->runtimes[0].env,
            (std::vector<std::pair<std::string, std::string>>{{"PIP_BREAK_SYSTEM_PACKAGES", "1"}}));
  EXPECT_EQ(r->runtimes[2].version, "openjdk17");
  EXPECT_EQ(r->runtimes[3].version, "1.19");
  EXPECT_EQ(r->log,
            (std::vector<std::string>{
                "Selecting 'python' runtime version '3.11' based on manual selections...",
                "Selecting 'nodejs' runtime version '18' based on manual selections...",
                "Selecting 'java' runtime version 'openjdk17' based on manual selections...",
                "Runtime version 'corretto17' of java is served by openjdk17 on this build "
                "image",
                "Selecting 'golang' runtime version '1.19' based on manual selections...",
            }));
  for (const char* v : {"3.11", "3.11.x", "latest"}) {
    EXPECT_TRUE(select_runtimes(runtimes_of("kiln/standard"), {{"python", v}})) << v;
  }
  EXPECT_TRUE(select_runtimes(runtimes_of("kiln/standard"), {{"nodejs", "18.x"}}));
  EXPECT_TRUE(select_runtimes(runtimes_of("kiln/standard"), {{"golang", "1.x"}}));
  EXPECT_TRUE(select_runtimes(runtimes_of("kiln/docker"), {{"docker", "20"}}));
}

TEST(SelectRuntimes, UnknownRuntimeListsTheImagesRuntimesSorted) {
  EXPECT_EQ(error_of("kiln/standard", {{"python", "3.11"}, {"ruby", "3.2"}}),
            "Unknown runtime named 'ruby'. This build image has the following runtimes: golang, "
            "java, nodejs, python");
  EXPECT_EQ(error_of("kiln/standard", {{"docker", "20"}}),
            "Unknown runtime named 'docker'. This build image has the following runtimes: "
            "golang, java, nodejs, python");
  EXPECT_EQ(error_of("kiln/docker", {{"dotnet", "8.0"}}),
            "Unknown runtime named 'dotnet'. This build image has the following runtimes: "
            "docker, golang, java, nodejs, python");
}

TEST(SelectRuntimes, UnknownVersionListsTheRuntimesVersions) {
  EXPECT_EQ(error_of("kiln/standard", {{"nodejs", "12"}}),
            "Unknown runtime version named '12' of nodejs. This build image has the following "
            "versions: 18");
  EXPECT_EQ(error_of("kiln/standard", {{"python", "3.12"}}),
            "Unknown runtime version named '3.12' of python. This build image has the following "
            "versions: 3.11");
  EXPECT_EQ(error_of("kiln/standard", {{"python", "2.x"}}),
            "Unknown runtime version named '2.x' of python. This build image has the following "
            "versions: 3.11");
  EXPECT_EQ(error_of("kiln/standard", {{"java", "corretto21"}}),
            "Unknown runtime version named 'corretto21' of java. This build image has the "
            "following versions: openjdk17");
  EXPECT_EQ(error_of("kiln/standard", {{"golang", "1.1x"}}),
            "Unknown runtime version named '1.1x' of golang. This build image has the following "
            "versions: 1.19");
  EXPECT_EQ(error_of("kiln/standard", {{"nodejs", ""}}),
            "Unknown runtime version named '' of nodejs. This build image has the following "
            "versions: 18");
  // "1.x" of golang is its major, but ".x" alone names nothing.
  EXPECT_FALSE(select_runtimes(runtimes_of("kiln/standard"), {{"golang", ".x"}}));
}

TEST(SelectRuntimes, ImagesWithoutRuntimesWarnAndContinue) {
  auto r = select_runtimes(runtimes_of("kiln/minimal"), {{"nodejs", "18"}});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->runtimes.empty());
  EXPECT_EQ(r->log, (std::vector<std::string>{
                        "Skipping install of runtimes. Runtime version selection is not "
                        "supported by this build image"}));
  // A non-curated image is the same: the caller passes no runtimes.
  auto other = select_runtimes({}, {{"anything", "at all"}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->log.size(), 1u);
  // Without runtime-versions there is nothing to warn about.
  auto none = select_runtimes({}, {});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->log.empty());
}

}  // namespace
}  // namespace kiln::image
