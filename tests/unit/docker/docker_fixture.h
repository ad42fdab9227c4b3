// The fixture of the tests against the real dockerd (docker_client_test.cpp,
// docker_container_test.cpp): it connects once per suite, imports the suite's image from a tar
// of the host's /bin/sh (rootfs_tar.h), and removes every container and image it made. Without
// a daemon socket the tests are skipped, unless KILN_REQUIRE_DOCKER=1 makes that a failure.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "docker/docker_client.h"
#include "docker/rootfs_tar.h"

namespace kiln::docker::testing {

namespace fs = std::filesystem;

inline const std::string kPid = std::to_string(::getpid());

// A fresh directory under /tmp: removed when the test passed, kept (and named) when it failed.
class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "kiln-docker-test-XXXXXX").string();
    if (::mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    if (path_.empty()) return;
    if (::testing::Test::HasFailure()) {
      std::cerr << "kept the failed test's directory " << path_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class DockerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    problem_.clear();
    absent_ = false;
    auto socket = default_socket_path();
    if (!socket) {
      problem_ = socket.error().describe();
      return;
    }
    struct stat st {};
    if (::stat(socket->c_str(), &st) != 0) {
      absent_ = true;
      problem_ = "no Docker daemon socket at " + *socket;
      return;
    }
    auto client = DockerClient::connect();
    if (!client) {
      problem_ = client.error().describe();
      return;
    }
    client_ = std::move(*client);
    const TempDir dir;
    const fs::path tar = dir.path() / "rootfs.tar";
    if (const std::string err = write_rootfs_tar(tar); !err.empty()) {
      problem_ = "writing the rootfs tar: " + err;
      return;
    }
    auto imported = client_->import_tar(tar, image_repo(), "rootfs");
    if (!imported) problem_ = imported.error().describe();
  }

  static void TearDownTestSuite() {
    if (!client_) return;
    // Containers a failed test left behind, found by the label every test container carries.
    if (auto left = client_->list_containers({{"kiln.test", kPid}})) {
      for (const auto& c : *left) (void)client_->remove(c.id);
    }
    (void)client_->remove_image(image());
    client_.reset();
  }

  void SetUp() override {
    if (problem_.empty()) return;
    const char* require = std::getenv("KILN_REQUIRE_DOCKER");
    if (absent_ && (require == nullptr || std::string_view(require) != "1"))
      GTEST_SKIP() << problem_ << " (set KILN_REQUIRE_DOCKER=1 to fail instead)";
    FAIL() << problem_;
  }

  void TearDown() override {
    for (const auto& id : created_) {
      auto removed = client_->remove(id);
      EXPECT_TRUE(removed) << removed.error().describe();
    }
  }

  static std::string image_repo() { return "kiln-test-" + kPid; }
  static std::string image() { return image_repo() + ":rootfs"; }
  static std::string name(std::string_view what) {
    return "kiln-test-" + kPid + "-" + std::string(what);
  }

  // A container of the suite's image, labelled for cleanup; removed after the test.
  Result<std::string> create(ContainerSpec spec) {
    if (spec.image.empty()) spec.image = image();
    spec.labels.emplace("kiln.test", kPid);
    auto id = client_->create_container(spec);
    if (id) created_.push_back(*id);
    return id;
  }

  // GET /containers/{id}/json as the daemon sends it, to check what create_container() set.
  static nlohmann::json raw_inspect(const std::string& id) {
    net::HttpRequest r;
    r.method = "GET";
    r.url = "http://docker/v" + client_->api_version() + "/containers/" + id + "/json";
    r.unix_socket = client_->socket_path();
    auto resp = net::make_curl_client()->send(r);
    if (!resp || resp->status != 200) return nullptr;
    return nlohmann::json::parse(resp->body, nullptr, false);
  }

  static inline std::unique_ptr<DockerClient> client_;
  static inline std::string problem_;
  static inline bool absent_ = false;
  std::vector<std::string> created_;
};

}  // namespace kiln::docker::testing
