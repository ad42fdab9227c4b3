// A client of the Docker Engine API, for the docker executor (docs/executors.md): images are pulled
// or imported and build containers created, started, watched and removed by talking to dockerd over
// its unix socket, with libcurl (net::HttpClient). Kiln never runs the docker CLI and bundles no
// Docker SDK: the CLI's output is not an interface, and the API is small.
//
// Versions: connect() asks the daemon which API versions it speaks and uses the older of its
// newest and kNewestApi, so every request is one both sides define ("/v1.41/containers/create").
// Nothing this client sends or reads changed between kOldestApi and kNewestApi; kNewestApi is as
// new as it is because Docker 29 refuses versions below 1.44.
//
// Errors: every failure names the call ("docker: start container 4f2a...: ..."). An answer of
// the daemon's reads "<HTTP status>: <the daemon's message>", and 404 is kNotFound; a daemon that
// cannot be reached is kIo (kPermission when the socket refuses this user).
//
// Timeouts: pull and import may run for kPullTimeoutMs / kImportTimeoutMs, wait() for what its
// caller gives, every other call for kCallTimeoutMs; a hung daemon never hangs a build forever.
//
// Thread safety: as for net::HttpClient, one DockerClient per thread; connect() costs one
// request (GET /version).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_client.h"
#include "util/error.h"

namespace kiln::docker {

struct ImageInfo {
  std::string id;                // "sha256:<hex>"
  std::vector<std::string> env;  // Config.Env, "K=V"
  std::string working_dir;       // Config.WorkingDir, "" when the image sets none
  std::string user;              // Config.User, "" for root
  std::uint64_t size = 0;        // bytes, all layers
};

// What create_container() makes. Empty or zero fields leave the daemon's default.
struct ContainerSpec {
  std::string name;                                    // "" lets the daemon pick one
  std::string image;                                   // a reference or an image id
  std::vector<std::string> cmd;                        // empty: the image's CMD
  std::optional<std::vector<std::string>> entrypoint;  // set and empty: none, not the image's
  std::vector<std::string> env;                        // "K=V", added to the image's
  std::map<std::string, std::string> labels;
  std::vector<std::string> binds;  // "host:dest" or "host:dest:ro"
  std::string network_mode;        // "bridge", "none", "host", a network's name; "" = bridge
  bool privileged = false;
  bool init = false;              // HostConfig.Init: docker-init as PID 1 reaps orphans
  std::int64_t memory_bytes = 0;  // also the memory+swap limit, so the container cannot swap
  std::int64_t nano_cpus = 0;     // 1e9 per CPU
  std::int64_t pids_limit = 0;
  std::string user;         // "" = the image's
  std::string working_dir;  // "" = the image's
  std::string hostname;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  std::vector<std::string> security_opt;         // "no-new-privileges", "seccomp=unconfined"
  std::vector<std::string> device_cgroup_rules;  // "a *:* rwm": every device
  bool unmask_paths =
      false;  // no masked or read-only /proc and /sys paths (CLI systempaths=unconfined)
  std::map<std::string, std::string> tmpfs;  // mount point -> options ("size=64m,mode=1777")
  bool auto_remove = false;  // the daemon removes it when it exits (its state is then lost)
};

struct ContainerState {
  std::string status;  // "created", "running", "paused", "restarting", "exited", "dead", ...
  bool running = false;
  int pid = 0;  // of its first process, in the host's PID namespace; 0 unless running
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;  // why the daemon could not start it, "" if nothing went wrong
};

struct ContainerSummary {
  std::string id;
  std::vector<std::string> names;  // as the daemon gives them, with a leading "/"
  std::map<std::string, std::string> labels;
  std::string state;  // as ContainerState::status
};

// Receives each line of a pull's or import's progress stream (one JSON document, no newline).
using ProgressFn = std::function<void(std::string_view line)>;

// The socket connect("") uses: DOCKER_HOST's path when it is "unix://PATH", else
// /var/run/docker.sock when DOCKER_HOST is unset or empty. Another DOCKER_HOST (tcp://, ssh://)
// is kInvalidArgument rather than silently talking to a different daemon than the user's.
[[nodiscard]] Result<std::string> default_socket_path();

class DockerClient {
 public:
  static constexpr std::string_view kOldestApi = "1.40";  // Docker 19.03
  static constexpr std::string_view kNewestApi = "1.47";  // Docker 27
  static constexpr long kCallTimeoutMs = 30'000;
  static constexpr long kPullTimeoutMs = 60L * 60'000;
  static constexpr long kImportTimeoutMs = 30L * 60'000;

  // Connects to `socket_path` ("" = default_socket_path()) through `http` (nullptr = libcurl)
  // and negotiates the API version. Fails when the daemon cannot be reached ("cannot reach the
  // Docker daemon at /var/run/docker.sock: ...") or shares no API version with this client.
  [[nodiscard]] static Result<std::unique_ptr<DockerClient>> connect(
      std::string socket_path = "", std::unique_ptr<net::HttpClient> http = nullptr);

  // A client that speaks `api_version` without asking the daemon (connect() ends here).
  DockerClient(std::unique_ptr<net::HttpClient> http, std::string socket_path,
               std::string api_version);

  const std::string& socket_path() const { return socket_; }
  std::string api_version() const { return version_; }

  // Images. `ref` is anything the daemon resolves: a reference or an id.
  [[nodiscard]] Result<std::optional<ImageInfo>> inspect_image(std::string_view ref);
  // Pulls `ref` (registry/path:tag or path@digest; no tag means "latest"). A refusal, as a
  // non-200 answer or an error line in the stream, fails with the daemon's text. Registry
  // credentials are not supported yet.
  [[nodiscard]] Result<void> pull(std::string_view ref, const ProgressFn& progress = nullptr);
  // `docker import`: makes image repo:tag from a root filesystem tar, streamed from disk.
  // `changes` are Dockerfile instructions applied to its config ("ENV PATH=/bin", "WORKDIR /x").
  [[nodiscard]] Result<void> import_tar(const std::filesystem::path& tar, std::string_view repo,
                                        std::string_view tag = "latest",
                                        const std::vector<std::string>& changes = {});
  // Removes the image (forcing, so tags and stopped containers do not keep it); absent is fine.
  [[nodiscard]] Result<void> remove_image(std::string_view ref);

  // Containers. Returns the new container's id. A taken name is kAlreadyExists, a missing
  // image kNotFound, each with the daemon's message.
  [[nodiscard]] Result<std::string> create_container(const ContainerSpec& spec);
  [[nodiscard]] Result<void> start(std::string_view id);  // starting a running one is fine
  // kNotFound when there is no such container.
  [[nodiscard]] Result<ContainerState> inspect_container(std::string_view id);
  // Sends `signal` ("KILL", "TERM", "15") to the first process; a container that is not
  // running is success.
  [[nodiscard]] Result<void> kill(std::string_view id, std::string_view signal = "KILL");
  // Removes the container (killing it first when `force`) and, with `volumes`, its anonymous
  // volumes. A container that does not exist is success, so cleanup can run twice.
  [[nodiscard]] Result<void> remove(std::string_view id, bool force = true, bool volumes = true);
  // The containers carrying every label of `labels` (an empty value matches any value of that
  // key); with `all`, stopped ones too.
  [[nodiscard]] Result<std::vector<ContainerSummary>> list_containers(
      const std::map<std::string, std::string>& labels, bool all = true);
  // Waits until the container is not running and returns its exit code; one never started
  // returns at once. kTimeout after `timeout_ms`, the container untouched.
  [[nodiscard]] Result<int> wait(std::string_view id, long timeout_ms);

 private:
  net::HttpRequest request(std::string method, const std::string& path, long timeout_ms) const;
  // The answer, whatever its status; only a failed exchange is an error (with `what`).
  Result<net::HttpResponse> send(const net::HttpRequest& r, const std::string& what);
  // Sends `r`, whose 200 answer is a JSON-lines progress stream (pull, import).
  // `source_failure` is what a body source recorded when it aborted.
  Result<std::string> send_streamed(net::HttpRequest r, const std::string& what,
                                    const ProgressFn& progress,
                                    std::optional<Error>* source_failure = nullptr);

  std::unique_ptr<net::HttpClient> http_;
  std::string socket_;
  std::string version_;
  std::string base_;  // "http://docker/v1.41"
};

}  // namespace kiln::docker
