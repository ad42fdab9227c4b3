// Image references split as Docker splits them: a wrong split pulls another image, or fails
// with a daemon message far from the cause.
#include <gtest/gtest.h>

#include "docker/image_ref.h"

namespace kiln::docker {
namespace {

ImageRef parsed(std::string_view text) {
  auto ref = parse_image_ref(text);
  EXPECT_TRUE(ref) << text << ": " << ref.error().describe();
  return ref ? *ref : ImageRef{};
}

TEST(ImageRef, BareNameGetsLatest) {
  const ImageRef r = parsed("ubuntu");
  EXPECT_EQ(r.domain, "");
  EXPECT_EQ(r.path, "ubuntu");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_EQ(r.name(), "ubuntu");
  EXPECT_EQ(r.pull_tag(), "latest");
  EXPECT_EQ(r.str(), "ubuntu:latest");
}

TEST(ImageRef, HubPathWithTag) {
  const ImageRef r = parsed("aws/codebuild-standard:7.0");
  EXPECT_EQ(r.domain, "");
  EXPECT_EQ(r.path, "aws/codebuild-standard");
  EXPECT_EQ(r.tag, "7.0");
}

TEST(ImageRef, RegistryPortIsNotATag) {
  const ImageRef r = parsed("registry.local:5000/team/app");
  EXPECT_EQ(r.domain, "registry.local:5000");
  EXPECT_EQ(r.path, "team/app");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_EQ(r.name(), "registry.local:5000/team/app");

  const ImageRef tagged = parsed("localhost:5000/app:v1-rc.2");
  EXPECT_EQ(tagged.domain, "localhost:5000");
  EXPECT_EQ(tagged.tag, "v1-rc.2");
}

TEST(ImageRef, LocalhostAndDottedHostsAreRegistries) {
  EXPECT_EQ(parsed("localhost/app").domain, "localhost");
  EXPECT_EQ(parsed("123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:1").domain,
            "123456789012.dkr.ecr.us-east-1.amazonaws.com");
  EXPECT_EQ(parsed("public.ecr.aws/lambda/python:3.12").path, "lambda/python");
  // "library" is a Docker Hub path, not a host.
  EXPECT_EQ(parsed("library/ubuntu").domain, "");
}

TEST(ImageRef, DigestIsPulledByDigest) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  const ImageRef r = parsed("repo/app@" + digest);
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.digest, digest);
  EXPECT_EQ(r.pull_tag(), digest);
  EXPECT_EQ(r.str(), "repo/app@" + digest);

  const ImageRef both = parsed("host:443/app:1.0@" + digest);
  EXPECT_EQ(both.domain, "host:443");
  EXPECT_EQ(both.tag, "1.0");
  EXPECT_EQ(both.pull_tag(), digest);
}

TEST(ImageRef, SeparatorsInPaths) {
  EXPECT_TRUE(parse_image_ref("team/a_b__c.d---e"));
  EXPECT_TRUE(parse_image_ref("x:_Tag.With-Caps"));
}

TEST(ImageRef, RejectsMalformedReferences) {
  const auto message = [](std::string_view text) {
    auto ref = parse_image_ref(text);
    EXPECT_FALSE(ref) << text;
    return ref ? std::string() : ref.error().describe();
  };
  EXPECT_EQ(message(""), "invalid image reference '': it is empty");
  EXPECT_EQ(message("Ubuntu"),
            "invalid image reference 'Ubuntu': the repository name must be lower-case letters, "
            "digits and . _ - separators");
  EXPECT_EQ(message("app:"), "invalid image reference 'app:': bad tag ''");
  EXPECT_EQ(message("app:-x"), "invalid image reference 'app:-x': bad tag '-x'");
  EXPECT_EQ(message("app@sha256:abc"),
            "invalid image reference 'app@sha256:abc': bad digest 'sha256:abc'");
  EXPECT_EQ(message("host:x/app"), "invalid image reference 'host:x/app': bad registry 'host:x'");
  EXPECT_EQ(message("host.io/"), "invalid image reference 'host.io/': no repository name");
  EXPECT_FALSE(parse_image_ref("a//b"));
  EXPECT_FALSE(parse_image_ref("a/-b"));
  EXPECT_FALSE(parse_image_ref("a..b"));
  EXPECT_FALSE(parse_image_ref("a b"));
  EXPECT_FALSE(parse_image_ref("app:" + std::string(129, 't')));
  EXPECT_EQ(parse_image_ref(std::string("app:") + std::string(128, 't'))->tag.size(), 128U);
  EXPECT_FALSE(parse_image_ref("ubuntu:22.04:x"));
}

}  // namespace
}  // namespace kiln::docker
