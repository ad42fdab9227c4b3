// DockerClient's connection, transport and image calls; the container calls are in
// docker_containers.cpp.
#include "docker/docker_client.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "docker/engine_wire.h"
#include "docker/image_ref.h"
#include "util/unique_fd.h"

namespace kiln::docker {
namespace {

constexpr std::string_view kDefaultSocket = "/var/run/docker.sock";
// The Host header only: with a unix socket curl resolves nothing.
constexpr std::string_view kHost = "http://docker";
constexpr long kConnectTimeoutMs = 5'000;

net::HttpRequest plain_request(std::string method, std::string url, const std::string& socket,
                               long timeout_ms) {
  net::HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.unix_socket = socket;
  r.timeout_ms = timeout_ms;
  r.connect_timeout_ms = std::min(timeout_ms, kConnectTimeoutMs);
  return r;
}

// Why the socket could not be used, in words a user can act on. curl only says "Couldn't
// connect to server" for a missing socket, a file that is not one, and a refused connection.
Error unreachable(const std::string& socket, const Error& transport) {
  const std::string head = "cannot reach the Docker daemon at " + socket + ": ";
  struct stat st {};
  if (::stat(socket.c_str(), &st) != 0) {
    const bool missing = errno == ENOENT || errno == ENOTDIR;
    return {ErrorCode::kIo,
            head + std::strerror(errno) + (missing ? " (is dockerd running?)" : "")};
  }
  if (!S_ISSOCK(st.st_mode)) return {ErrorCode::kIo, head + "not a unix socket"};
  if (::access(socket.c_str(), R_OK | W_OK) != 0 && errno == EACCES)
    return {ErrorCode::kPermission, head + "permission denied (is this user in the docker group?)"};
  return {transport.code() == ErrorCode::kTimeout ? ErrorCode::kTimeout : ErrorCode::kIo,
          head + transport.message()};
}

struct ServerVersions {
  wire::ApiVersion newest;
  std::optional<wire::ApiVersion> oldest;  // unknown when only /_ping answered
};

// What the daemon speaks: /version's ApiVersion and MinAPIVersion, or, from a socket proxy that
// only lets /_ping through, its Api-Version header. Both paths are unversioned.
Result<ServerVersions> server_versions(net::HttpClient& http, const std::string& socket) {
  const auto ask = [&](const char* path) -> Result<net::HttpResponse> {
    auto resp = http.send(
        plain_request("GET", std::string(kHost) + path, socket, DockerClient::kCallTimeoutMs));
    if (!resp) return fail(unreachable(socket, resp.error()));
    return resp;
  };
  const auto unreadable = [&](const std::string& text) {
    return fail(ErrorCode::kParse, "the Docker daemon at " + socket +
                                       " reports an unreadable API version '" + text + "'");
  };
  auto version = ask("/version");
  if (!version) return fail(std::move(version.error()));
  if (version->status == 200) {
    auto doc = wire::parse_body(version->body);
    if (!doc) return fail(std::move(doc.error()).with("GET /version"));
    const std::string newest = wire::text(*doc, "ApiVersion");
    const std::string oldest = wire::text(*doc, "MinAPIVersion");
    const auto parsed = wire::parse_api_version(newest);
    if (!parsed) return unreadable(newest);
    return ServerVersions{*parsed, wire::parse_api_version(oldest)};
  }
  auto ping = ask("/_ping");
  if (!ping) return fail(std::move(ping.error()));
  if (ping->status != 200)
    return fail(wire::answer_error(ping->status, ping->body)
                    .with("the Docker daemon at " + socket + " answered GET /_ping"));
  const std::string text = ping->header("api-version").value_or("");
  const auto parsed = wire::parse_api_version(text);
  if (!parsed) return unreadable(text);
  return ServerVersions{*parsed, std::nullopt};
}

}  // namespace

Result<std::string> default_socket_path() {
  const char* host = std::getenv("DOCKER_HOST");
  if (host == nullptr || *host == '\0') return std::string(kDefaultSocket);
  const std::string_view value(host);
  if (value.starts_with("unix://") && value.size() > 7) return std::string(value.substr(7));
  return fail(ErrorCode::kInvalidArgument,
              "DOCKER_HOST=" + std::string(value) +
                  ": Kiln reaches the Docker daemon only through a unix socket (unix:///path)");
}

Result<std::unique_ptr<DockerClient>> DockerClient::connect(std::string socket_path,
                                                            std::unique_ptr<net::HttpClient> http) {
  if (socket_path.empty()) {
    auto found = default_socket_path();
    if (!found) return fail(std::move(found.error()));
    socket_path = std::move(*found);
  }
  if (!http) http = net::make_curl_client();
  auto server = server_versions(*http, socket_path);
  if (!server) return fail(std::move(server.error()));
  const auto oldest = *wire::parse_api_version(kOldestApi);
  const auto newest = *wire::parse_api_version(kNewestApi);
  const wire::ApiVersion use = std::min(server->newest, newest);
  if (server->newest < oldest)
    return fail(ErrorCode::kInvalidArgument, "the Docker daemon at " + socket_path +
                                                 " speaks Engine API " + server->newest.str() +
                                                 "; Kiln needs " + std::string(kOldestApi) +
                                                 " or newer (Docker 19.03+)");
  if (server->oldest && use < *server->oldest)
    return fail(ErrorCode::kInvalidArgument,
                "the Docker daemon at " + socket_path + " speaks Engine API " +
                    server->oldest->str() + " to " + server->newest.str() + "; Kiln speaks " +
                    std::string(kOldestApi) + " to " + std::string(kNewestApi));
  return std::make_unique<DockerClient>(std::move(http), std::move(socket_path), use.str());
}

DockerClient::DockerClient(std::unique_ptr<net::HttpClient> http, std::string socket_path,
                           std::string api_version)
    : http_(std::move(http)),
      socket_(std::move(socket_path)),
      version_(std::move(api_version)),
      base_(std::string(kHost) + "/v" + version_) {}

net::HttpRequest DockerClient::request(std::string method, const std::string& path,
                                       long timeout_ms) const {
  return plain_request(std::move(method), base_ + path, socket_, timeout_ms);
}

Result<net::HttpResponse> DockerClient::send(const net::HttpRequest& r, const std::string& what) {
  auto resp = http_->send(r);
  if (!resp) return fail(std::move(resp.error()).with(what));
  return resp;
}

Result<std::string> DockerClient::send_streamed(net::HttpRequest r, const std::string& what,
                                                const ProgressFn& progress,
                                                std::optional<Error>* source_failure) {
  wire::JsonLines lines(progress);
  r.body_sink = [&lines](std::string_view chunk) {
    lines.feed(chunk);
    return true;
  };
  auto resp = http_->send(r);
  if (source_failure != nullptr && source_failure->has_value())
    return fail(std::move(**source_failure).with(what));
  if (!resp) return fail(std::move(resp.error()).with(what));
  if (resp->status != 200) return fail(wire::answer_error(resp->status, resp->body).with(what));
  lines.finish();
  if (lines.error()) return fail(Error(ErrorCode::kIo, *lines.error()).with(what));
  return lines.last_status();
}

Result<std::optional<ImageInfo>> DockerClient::inspect_image(std::string_view ref) {
  const std::string what = "docker: inspect image " + std::string(ref);
  auto resp =
      send(request("GET", "/images/" + wire::path_part(ref) + "/json", kCallTimeoutMs), what);
  if (!resp) return fail(std::move(resp.error()));
  if (resp->status == 404) return std::nullopt;
  if (resp->status != 200) return fail(wire::answer_error(resp->status, resp->body).with(what));
  auto doc = wire::parse_body(resp->body);
  if (!doc) return fail(std::move(doc.error()).with(what));
  const auto& config = wire::object(*doc, "Config");
  ImageInfo info;
  info.id = wire::text(*doc, "Id");
  info.env = wire::strings(config, "Env");
  info.working_dir = wire::text(config, "WorkingDir");
  info.user = wire::text(config, "User");
  info.size = static_cast<std::uint64_t>(std::max<std::int64_t>(0, wire::number(*doc, "Size")));
  return info;
}

Result<void> DockerClient::pull(std::string_view ref, const ProgressFn& progress) {
  const std::string what = "docker: pull " + std::string(ref);
  auto parsed = parse_image_ref(ref);
  if (!parsed) return fail(std::move(parsed.error()).with(what));
  const std::string path =
      "/images/create" + wire::query({{"fromImage", parsed->name()}, {"tag", parsed->pull_tag()}});
  auto done = send_streamed(request("POST", path, kPullTimeoutMs), what, progress);
  if (!done) return fail(std::move(done.error()));
  return {};
}

Result<void> DockerClient::import_tar(const std::filesystem::path& tar, std::string_view repo,
                                      std::string_view tag,
                                      const std::vector<std::string>& changes) {
  const std::string what =
      "docker: import " + tar.string() + " as " + std::string(repo) + ":" + std::string(tag);
  // Validated here so that a bad name fails before a large tar is sent.
  auto ref = parse_image_ref(std::string(repo) + ":" + std::string(tag));
  if (!ref) return fail(std::move(ref.error()).with(what));
  if (!ref->digest.empty())
    return fail(
        Error(ErrorCode::kInvalidArgument, "an imported image cannot have a digest").with(what));
  const UniqueFd fd(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(errno_error(ErrorCode::kIo, "open " + tar.string()).with(what));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return fail(errno_error(ErrorCode::kIo, "fstat " + tar.string()).with(what));
  std::vector<std::pair<std::string, std::string>> params = {
      {"fromSrc", "-"}, {"repo", ref->name()}, {"tag", ref->tag}};
  for (const auto& change : changes) params.emplace_back("changes", change);
  net::HttpRequest r = request("POST", "/images/create" + wire::query(params), kImportTimeoutMs);
  r.headers.emplace_back("Content-Type", "application/x-tar");
  std::optional<Error> failure;
  net::body_from_file(r, fd.get(), 0, static_cast<std::uint64_t>(st.st_size), failure);
  auto done = send_streamed(std::move(r), what, nullptr, &failure);
  if (!done) return fail(std::move(done.error()));
  return {};
}

Result<void> DockerClient::remove_image(std::string_view ref) {
  const std::string what = "docker: remove image " + std::string(ref);
  auto resp =
      send(request("DELETE", "/images/" + wire::path_part(ref) + "?force=1", kCallTimeoutMs), what);
  if (!resp) return fail(std::move(resp.error()));
  if (resp->status == 200 || resp->status == 404) return {};
  return fail(wire::answer_error(resp->status, resp->body).with(what));
}

}  // namespace kiln::docker
