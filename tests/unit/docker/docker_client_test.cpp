// DockerClient's connection and image calls against the real dockerd of the test machine
// (docker_fixture.h). No registry is reachable from CI, so pulls can only be seen failing; the
// images come from tars the tests write.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <fstream>

#include "docker/docker_fixture.h"
#include "util/unique_fd.h"

namespace kiln::docker {
namespace {

namespace fs = std::filesystem;
using testing::DockerFixture;
using testing::kPid;
using testing::TempDir;

class DockerImageTest : public DockerFixture {};

TEST(DockerConnect, MissingSocketFailsClearly) {
  const std::string path = "/tmp/kiln-no-docker-" + kPid + ".sock";
  auto client = DockerClient::connect(path);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code(), ErrorCode::kIo);
  EXPECT_EQ(client.error().describe(), "cannot reach the Docker daemon at " + path +
                                           ": No such file or directory (is dockerd running?)");
}

TEST(DockerConnect, FileThatIsNotASocketOrNotListening) {
  const TempDir dir;
  const fs::path file = dir.path() / "plain";
  std::ofstream(file) << "x";
  auto plain = DockerClient::connect(file.string());
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().describe(),
            "cannot reach the Docker daemon at " + file.string() + ": not a unix socket");

  // Bound but never listening: the connection is refused, in curl's words.
  const fs::path sock = dir.path() / "dead.sock";
  const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  sock.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto refused = DockerClient::connect(sock.string());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kIo);
  EXPECT_TRUE(refused.error().describe().starts_with(
      "cannot reach the Docker daemon at " + sock.string() + ": GET http://docker/version: "))
      << refused.error().describe();
}

TEST_F(DockerImageTest, NegotiatesTheDaemonsVersion) {
  net::HttpRequest ping;
  ping.method = "GET";
  ping.url = "http://docker/_ping";
  ping.unix_socket = client_->socket_path();
  auto resp = net::make_curl_client()->send(ping);
  ASSERT_TRUE(resp) << resp.error().describe();
  const std::string server = resp->header("api-version").value_or("");
  const auto minor = [](std::string_view v) { return std::stoi(std::string(v.substr(2))); };
  const std::string expected = minor(server) < minor(DockerClient::kNewestApi)
                                   ? server
                                   : std::string(DockerClient::kNewestApi);
  EXPECT_EQ(client_->api_version(), expected);
  EXPECT_GE(minor(client_->api_version()), minor(DockerClient::kOldestApi));
}

TEST_F(DockerImageTest, InspectOfAMissingImageIsNullopt) {
  auto info = client_->inspect_image("kiln-no-such-image-" + kPid + ":1");
  ASSERT_TRUE(info) << info.error().describe();
  EXPECT_FALSE(info->has_value());
}

TEST_F(DockerImageTest, PullFailureCarriesTheDaemonsMessage) {
  // No registry is reachable here (and this repository exists in none), so the daemon refuses.
  const std::string ref = "kiln-no-such-image-" + kPid + ":1";
  const auto start = std::chrono::steady_clock::now();
  auto pulled = client_->pull(ref);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(pulled);
  const std::string text = pulled.error().describe();
  EXPECT_TRUE(text.starts_with("docker: pull " + ref + ": ")) << text;
  EXPECT_GT(text.size(), ("docker: pull " + ref + ": 500: ").size()) << text;
  EXPECT_LT(took, std::chrono::seconds(60));
  std::cerr << "pull failed as expected: " << text << "\n";

  auto bad = client_->pull("Not/A:Ref:");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(DockerImageTest, ImportThenInspect) {
  auto base = client_->inspect_image(image());
  ASSERT_TRUE(base) << base.error().describe();
  ASSERT_TRUE(base->has_value());
  EXPECT_TRUE((*base)->id.starts_with("sha256:")) << (*base)->id;
  EXPECT_GT((*base)->size, 0U);

  // A second import with `changes`, as `docker import --change` makes.
  const TempDir dir;
  const fs::path tar = dir.path() / "rootfs.tar";
  ASSERT_EQ(testing::write_rootfs_tar(tar), "");
  const std::string repo = image_repo() + "-changed";
  auto imported =
      client_->import_tar(tar, repo, "v1", {"ENV PATH=/bin", "WORKDIR /work", "USER 1000:1000"});
  ASSERT_TRUE(imported) << imported.error().describe();
  auto info = client_->inspect_image(repo + ":v1");
  EXPECT_TRUE(client_->remove_image(repo + ":v1"));
  ASSERT_TRUE(info) << info.error().describe();
  ASSERT_TRUE(info->has_value());
  EXPECT_EQ((*info)->env, std::vector<std::string>{"PATH=/bin"});
  EXPECT_EQ((*info)->working_dir, "/work");
  EXPECT_EQ((*info)->user, "1000:1000");
  auto gone = client_->inspect_image(repo + ":v1");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(client_->remove_image(repo + ":v1")) << "removing twice is fine";
}

TEST_F(DockerImageTest, ImportFailures) {
  auto missing = client_->import_tar("/nonexistent/rootfs.tar", image_repo() + "-x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().describe(), "docker: import /nonexistent/rootfs.tar as " +
                                            image_repo() +
                                            "-x:latest: open /nonexistent/rootfs.tar: No such "
                                            "file or directory");

  // The daemon reads the tar and refuses it.
  const TempDir dir;
  const fs::path junk = dir.path() / "junk.tar";
  std::ofstream(junk) << std::string(4096, 'j');
  auto refused = client_->import_tar(junk, image_repo() + "-junk", "1");
  ASSERT_FALSE(refused);
  const std::string text = refused.error().describe();
  EXPECT_TRUE(text.starts_with("docker: import " + junk.string() + " as " + image_repo() +
                               "-junk:1: 500: "))
      << text;
  EXPECT_NE(text.find("tar"), std::string::npos) << text;
  auto none = client_->inspect_image(image_repo() + "-junk:1");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  auto bad_name = client_->import_tar(junk, "Upper/Case");
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::docker
