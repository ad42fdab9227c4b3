// DockerClient against a scripted HttpClient, for what the daemon on the test machine cannot
// show: other API versions, a socket proxy that lets only /_ping through, an error inside a
// 200 progress stream, and the exact URLs and bodies sent.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "docker/docker_client.h"
#include "docker/engine_wire.h"

namespace kiln::docker {
namespace {

// Answers with `handler`, keeps every request, and feeds a 2xx body to a request's body_sink in
// 5-byte pieces, as a network would split it.
class FakeHttp final : public net::HttpClient {
 public:
  using Handler = std::function<Result<net::HttpResponse>(const net::HttpRequest&)>;
  explicit FakeHttp(Handler handler, std::vector<net::HttpRequest>* seen)
      : handler_(std::move(handler)), seen_(seen) {}

  Result<net::HttpResponse> send(const net::HttpRequest& req) override {
    seen_->push_back(req);
    auto resp = handler_(req);
    if (resp && req.body_sink && resp->status / 100 == 2) {
      for (std::size_t i = 0; i < resp->body.size(); i += 5)
        if (!req.body_sink(std::string_view(resp->body).substr(i, 5)))
          return fail(ErrorCode::kCancelled, "sink aborted");
      resp->body.clear();
    }
    return resp;
  }

 private:
  Handler handler_;
  std::vector<net::HttpRequest>* seen_;
};

net::HttpResponse answer(long status, std::string body,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
  return {status, std::move(body), std::move(headers)};
}

// A daemon whose /version reports `version` and `min` (Docker 20.10's minimum by default) and
// which answers `rest` otherwise.
FakeHttp::Handler daemon(std::string version, FakeHttp::Handler rest = nullptr,
                         std::string min = "1.12") {
  return [version, rest, min](const net::HttpRequest& r) -> Result<net::HttpResponse> {
    if (r.url == "http://docker/version")
      return answer(200, nlohmann::json{{"ApiVersion", version}, {"MinAPIVersion", min}}.dump());
    if (rest) return rest(r);
    return answer(404, R"({"message":"page not found"})");
  };
}

Result<std::unique_ptr<DockerClient>> connect_fake(FakeHttp::Handler h,
                                                   std::vector<net::HttpRequest>& seen) {
  return DockerClient::connect("/run/fake.sock", std::make_unique<FakeHttp>(std::move(h), &seen));
}

TEST(DockerClientFake, UsesTheOlderOfTheTwoVersions) {
  std::vector<net::HttpRequest> seen;
  auto older = connect_fake(daemon("1.41"), seen);
  ASSERT_TRUE(older) << older.error().describe();
  EXPECT_EQ((*older)->api_version(), "1.41");
  auto newer = connect_fake(daemon("1.52"), seen);
  ASSERT_TRUE(newer) << newer.error().describe();
  EXPECT_EQ((*newer)->api_version(), DockerClient::kNewestApi);
  EXPECT_EQ(seen.front().unix_socket, "/run/fake.sock");
  EXPECT_EQ(seen.front().method, "GET");
}

TEST(DockerClientFake, RefusesADaemonOlderThanItSupports) {
  std::vector<net::HttpRequest> seen;
  auto client = connect_fake(daemon("1.39"), seen);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().describe(),
            "the Docker daemon at /run/fake.sock speaks Engine API 1.39; Kiln needs 1.40 or "
            "newer (Docker 19.03+)");
}

TEST(DockerClientFake, RefusesADaemonWhoseOldestIsNewerThanItsNewest) {
  std::vector<net::HttpRequest> seen;
  auto client = connect_fake(daemon("1.60", nullptr, "1.50"), seen);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().describe(),
            "the Docker daemon at /run/fake.sock speaks Engine API 1.50 to 1.60; Kiln speaks "
            "1.40 to " +
                std::string(DockerClient::kNewestApi));
}

TEST(DockerClientFake, FallsBackToThePingHeaderWithoutVersion) {
  // A socket proxy that lets only /_ping through.
  const auto proxy = [](std::string header) {
    return [header](const net::HttpRequest& r) -> Result<net::HttpResponse> {
      if (r.url == "http://docker/_ping")
        return header.empty() ? answer(200, "OK") : answer(200, "OK", {{"api-version", header}});
      return answer(403, "forbidden");
    };
  };
  std::vector<net::HttpRequest> seen;
  auto client = connect_fake(proxy("1.43"), seen);
  ASSERT_TRUE(client) << client.error().describe();
  EXPECT_EQ((*client)->api_version(), "1.43");
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[1].url, "http://docker/_ping");

  auto none = connect_fake(proxy(""), seen);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().describe(),
            "the Docker daemon at /run/fake.sock reports an unreadable API version ''");
  auto garbled = connect_fake(daemon("one.two"), seen);
  ASSERT_FALSE(garbled);
  EXPECT_EQ(garbled.error().code(), ErrorCode::kParse);
}

TEST(DockerClientFake, PullStreamErrorIsAFailureWithTheDaemonsText) {
  std::vector<net::HttpRequest> seen;
  auto client = connect_fake(
      daemon("1.41",
             [](const net::HttpRequest&) {
               return answer(200,
                             "{\"status\":\"Pulling from library/app\",\"id\":\"1\"}\r\n"
                             "{\"errorDetail\":{\"message\":\"manifest unknown\"},"
                             "\"error\":\"manifest unknown\"}\r\n");
             }),
      seen);
  ASSERT_TRUE(client);
  std::vector<std::string> lines;
  auto pulled = (*client)->pull("registry.local:5000/app@sha256:" + std::string(64, 'f'),
                                [&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_FALSE(pulled);
  EXPECT_EQ(pulled.error().describe(), "docker: pull registry.local:5000/app@sha256:" +
                                           std::string(64, 'f') + ": manifest unknown");
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0], R"({"status":"Pulling from library/app","id":"1"})");
  EXPECT_EQ(seen.back().url,
            "http://docker/v1.41/images/create?fromImage=registry.local%3A5000%2Fapp"
            "&tag=sha256%3A" +
                std::string(64, 'f'));
  EXPECT_EQ(seen.back().timeout_ms, DockerClient::kPullTimeoutMs);
}

TEST(DockerClientFake, ListFiltersAreJsonThenPercentEncoded) {
  std::vector<net::HttpRequest> seen;
  auto client =
      connect_fake(daemon("1.41",
                          [](const net::HttpRequest&) {
                            return answer(200, R"([{"Id":"abc","Names":["/x"],"Labels":null,
                                                       "State":"exited"}])");
                          }),
                   seen);
  ASSERT_TRUE(client);
  auto list = (*client)->list_containers({{"kiln.build", "b 1"}, {"kiln.owner", ""}});
  ASSERT_TRUE(list) << list.error().describe();
  ASSERT_EQ(list->size(), 1U);
  EXPECT_EQ((*list)[0].id, "abc");
  EXPECT_TRUE((*list)[0].labels.empty());
  EXPECT_EQ(seen.back().url,
            "http://docker/v1.41/containers/json?all=1&filters="
            "%7B%22label%22%3A%5B%22kiln.build%3Db%201%22%2C%22kiln.owner%22%5D%7D");
}

TEST(DockerClientFake, CreateBodyCarriesTheSpec) {
  std::vector<net::HttpRequest> seen;
  auto client = connect_fake(daemon("1.41",
                                    [](const net::HttpRequest&) {
                                      return answer(201, R"({"Id":"c0ffee","Warnings":[]})");
                                    }),
                             seen);
  ASSERT_TRUE(client);
  ContainerSpec spec;
  spec.name = "kiln-1";
  spec.image = "img";
  spec.entrypoint = std::vector<std::string>{};
  spec.memory_bytes = 1 << 30;
  auto id = (*client)->create_container(spec);
  ASSERT_TRUE(id) << id.error().describe();
  EXPECT_EQ(*id, "c0ffee");
  EXPECT_EQ(seen.back().url, "http://docker/v1.41/containers/create?name=kiln-1");
  const auto body = nlohmann::json::parse(seen.back().body);
  EXPECT_EQ(body["Entrypoint"], nlohmann::json::array());
  EXPECT_FALSE(body.contains("Cmd"));
  EXPECT_EQ(body["HostConfig"]["Memory"], 1 << 30);
  EXPECT_EQ(body["HostConfig"]["MemorySwap"], 1 << 30);
  EXPECT_EQ(body["HostConfig"]["Init"], false);
}

TEST(DockerClientFake, TransportFailuresNameTheCall) {
  std::vector<net::HttpRequest> seen;
  auto client = connect_fake(daemon("1.41",
                                    [](const net::HttpRequest&) -> Result<net::HttpResponse> {
                                      return fail(ErrorCode::kTimeout, "timed out after 30000 ms");
                                    }),
                             seen);
  ASSERT_TRUE(client);
  auto started = (*client)->start("abc");
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code(), ErrorCode::kTimeout);
  EXPECT_EQ(started.error().describe(), "docker: start container abc: timed out after 30000 ms");
}

TEST(DockerHost, UnixSocketsOnly) {
  const char* old = std::getenv("DOCKER_HOST");
  const std::string saved = old == nullptr ? "" : old;
  ::unsetenv("DOCKER_HOST");
  EXPECT_EQ(default_socket_path().value_or("?"), "/var/run/docker.sock");
  ::setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock", 1);
  EXPECT_EQ(default_socket_path().value_or("?"), "/run/user/1000/docker.sock");
  ::setenv("DOCKER_HOST", "tcp://10.0.0.1:2375", 1);
  auto tcp = default_socket_path();
  ASSERT_FALSE(tcp);
  EXPECT_EQ(tcp.error().describe(),
            "DOCKER_HOST=tcp://10.0.0.1:2375: Kiln reaches the Docker daemon only through a unix "
            "socket (unix:///path)");
  if (old == nullptr) {
    ::unsetenv("DOCKER_HOST");
  } else {
    ::setenv("DOCKER_HOST", saved.c_str(), 1);
  }
}

TEST(EngineWire, ErrorAnswers) {
  EXPECT_EQ(wire::answer_error(404, R"({"message":"No such image: x:latest"})").describe(),
            "404: No such image: x:latest");
  EXPECT_EQ(wire::answer_error(404, "").code(), ErrorCode::kNotFound);
  EXPECT_EQ(wire::answer_error(409, "{}", ErrorCode::kAlreadyExists).code(),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(wire::answer_error(500, "plain text\n").describe(), "500: plain text");
  EXPECT_EQ(wire::answer_error(502, "").describe(), "502: (no message)");
}

}  // namespace
}  // namespace kiln::docker
