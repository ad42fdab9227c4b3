// A Service on an in-memory store and secret store, called the way the HTTP layer calls it:
// requests go through Service::handle, signed or not, and answers come back parsed.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/service.h"
#include "auth/sigv4.h"
#include "secrets/secret_store.h"
#include "store/store.h"
#include "util/clock.h"

namespace kiln::api {

// Runs nothing; records what the API asked of it. stop_batch answers `batches_running`;
// retry_batch succeeds when `retry_error` is empty.
class NoBuilds final : public BuildControl {
 public:
  void wake() override { ++wakes; }
  bool stop(const std::string&) override { return false; }
  bool stop_batch(const std::string& id) override {
    stopped_batches.push_back(id);
    return batches_running;
  }
  Result<void> retry_batch(const std::string& id, bool failed_only) override {
    retried_batches.emplace_back(id, failed_only);
    if (retry_error.empty()) return {};
    return fail(ErrorCode::kInvalidArgument, retry_error);
  }

  int wakes = 0;
  bool batches_running = false;
  std::string retry_error = "no batches here";
  std::vector<std::string> stopped_batches;
  std::vector<std::pair<std::string, bool>> retried_batches;
};

inline const auth::AccessKey kTestKey{"AKIAKILNTEST00000001", "test-secret", "alice", true};

class OneKey final : public auth::KeyLookup {
 public:
  std::optional<auth::AccessKey> find(std::string_view id) const override {
    if (id == kTestKey.id) return kTestKey;
    return std::nullopt;
  }
};

struct Answer {
  int status;
  nlohmann::json body;
  std::string text;
  std::string type() const { return body.value("__type", ""); }
  std::string message() const { return body.value("message", ""); }
};

// An unsigned AWS JSON 1.1 request for `target` ("CodeBuild_20161006.StartBuild"), as the HTTP
// layer hands it to Service::handle.
inline http::Request json_request(const std::string& target, std::string body) {
  http::Request req;
  req.method = "POST";
  req.target = req.path = "/";
  req.body = std::move(body);
  req.headers = {{"host", "127.0.0.1:7447"},
                 {"content-type", "application/x-amz-json-1.1"},
                 {"x-amz-date", "20231114T221320Z"},  // the FakeClock's instant
                 {"x-amz-target", target}};
  return req;
}

class ServiceTest : public ::testing::Test {
 protected:
  // `sign_as`: the SigV4 service to sign for, in `region`; empty sends the request unsigned.
  Answer call_text(const std::string& target, std::string body, const std::string& sign_as = "",
                   const std::string& region = "eu-west-1") {
    http::Request req = json_request(target, std::move(body));
    if (!sign_as.empty()) {
      const auth::SignedRequest signed_req{req.method, req.path, "", &req.headers, req.body};
      req.headers.emplace_back("authorization",
                               auth::sign_request(signed_req, kTestKey, region, sign_as));
    }
    const http::Response r = service_.handle(req);
    return {r.status, nlohmann::json::parse(r.body.empty() ? "{}" : r.body), r.body};
  }
  Answer call(const std::string& target, const nlohmann::json& in,
              const std::string& sign_as = "") {
    return call_text(target, in.dump(), sign_as);
  }
  nlohmann::json ok(const std::string& target, const nlohmann::json& in) {
    Answer a = call(target, in);
    EXPECT_EQ(a.status, 200) << target << ": " << a.text;
    return a.body;
  }
  // A CodeBuild operation (`op`: "StartBuild") refused with a 400 of `type`, and `message` if
  // one is given.
  void expect_error(const std::string& op, const nlohmann::json& in, const std::string& type,
                    const std::string& message = "") {
    const Answer a = call("CodeBuild_20161006." + op, in);
    EXPECT_EQ(a.status, 400) << op << ": " << a.text;
    EXPECT_EQ(a.type(), type) << op << ": " << a.text;
    if (!message.empty()) {
      EXPECT_EQ(a.message(), message) << op;
    }
  }

  FakeClock clock_;
  std::unique_ptr<store::Store> store_ = store::open_sqlite(":memory:").value();
  std::unique_ptr<secrets::SecretStore> secrets_ = secrets::memory_secret_store(clock_);
  OneKey keys_;
  NoBuilds control_;
  Service service_{ServiceOptions{{"us-east-1", "123456789012"}, {"/nonexistent"}, true, 900, {}},
                   *store_,
                   *secrets_,
                   keys_,
                   control_,
                   clock_};
};

// A Service whose data folder is a fresh temporary folder with `logs/`, for the Logs API's tests:
// build logs are written under log_path() and read through call() / ok(). The folder is removed
// after a passing test and kept (and named) after a failing one.
class LogFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("kiln-logs-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_ / "logs");
    ServiceOptions o;
    o.account = {"us-east-1", "123456789012"};
    o.data = {root_};
    o.allow_anonymous = true;
    service_ = std::make_unique<Service>(o, *store_, *secrets_, keys_, control_, clock_);
  }
  void TearDown() override {
    if (!HasFailure())
      std::filesystem::remove_all(root_);
    else
      std::fprintf(stderr, "kept %s\n", root_.c_str());
  }
  // Where the log of build `uuid` of `project` goes, its folder made.
  std::filesystem::path log_path(const std::string& project, const std::string& uuid) {
    std::filesystem::create_directories(root_ / "logs" / project);
    return root_ / "logs" / project / (uuid + ".log");
  }
  Answer call(const std::string& target, const nlohmann::json& in) {
    http::Request req = json_request(target, in.dump());
    const http::Response r = service_->handle(req);
    return {r.status, nlohmann::json::parse(r.body.empty() ? "{}" : r.body), r.body};
  }

  std::filesystem::path root_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_ = store::open_sqlite(":memory:").value();
  std::unique_ptr<secrets::SecretStore> secrets_ = secrets::memory_secret_store(clock_);
  OneKey keys_;
  NoBuilds control_;
  std::unique_ptr<Service> service_;
};

}  // namespace kiln::api
