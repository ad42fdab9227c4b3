// DockerClient's container calls: create, start, inspect, kill, remove, list, wait.
#include <nlohmann/json.hpp>

#include "docker/docker_client.h"
#include "docker/engine_wire.h"
#include "util/json_text.h"

namespace kiln::docker {
namespace {

using nlohmann::json;

void put_strings(json& into, const char* key, const std::vector<std::string>& values) {
  if (!values.empty()) into[key] = values;
}

void put_map(json& into, const char* key, const std::map<std::string, std::string>& values) {
  if (!values.empty()) into[key] = values;
}

json host_config(const ContainerSpec& s) {
  json h = json::object();
  put_strings(h, "Binds", s.binds);
  if (!s.network_mode.empty()) h["NetworkMode"] = s.network_mode;
  h["Privileged"] = s.privileged;
  // Sent even when false: a daemon started with --init would otherwise add docker-init.
  h["Init"] = s.init;
  if (s.memory_bytes > 0) {
    h["Memory"] = s.memory_bytes;
    h["MemorySwap"] = s.memory_bytes;  // memory + swap: equal means no swap
  }
  if (s.nano_cpus > 0) h["NanoCpus"] = s.nano_cpus;
  if (s.pids_limit > 0) h["PidsLimit"] = s.pids_limit;
  put_strings(h, "CapAdd", s.cap_add);
  put_strings(h, "CapDrop", s.cap_drop);
  put_strings(h, "SecurityOpt", s.security_opt);
  put_strings(h, "DeviceCgroupRules", s.device_cgroup_rules);
  if (s.unmask_paths) {
    h["MaskedPaths"] = json::array();
    h["ReadonlyPaths"] = json::array();
  }
  put_map(h, "Tmpfs", s.tmpfs);
  h["AutoRemove"] = s.auto_remove;
  return h;
}

json create_body(const ContainerSpec& s) {
  json c = json::object();
  c["Image"] = s.image;
  put_strings(c, "Cmd", s.cmd);
  // An empty array (unlike a missing field) replaces the image's entrypoint with none.
  if (s.entrypoint) c["Entrypoint"] = *s.entrypoint;
  put_strings(c, "Env", s.env);
  put_map(c, "Labels", s.labels);
  if (!s.user.empty()) c["User"] = s.user;
  if (!s.working_dir.empty()) c["WorkingDir"] = s.working_dir;
  if (!s.hostname.empty()) c["Hostname"] = s.hostname;
  c["HostConfig"] = host_config(s);
  return c;
}

std::string container_path(std::string_view id, std::string_view rest = "") {
  return "/containers/" + wire::path_part(id) + std::string(rest);
}

}  // namespace

Result<std::string> DockerClient::create_container(const ContainerSpec& spec) {
  const std::string what = "docker: create container";
  net::HttpRequest r =
      request("POST", "/containers/create" + wire::query({{"name", spec.name}}), kCallTimeoutMs);
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = json_text(create_body(spec));
  auto resp = send(r, what);
  if (!resp) return fail(std::move(resp.error()));
  if (resp->status != 201)
    return fail(wire::answer_error(resp->status, resp->body, ErrorCode::kAlreadyExists).with(what));
  auto doc = wire::parse_body(resp->body);
  if (!doc) return fail(std::move(doc.error()).with(what));
  std::string id = wire::text(*doc, "Id");
  if (id.empty()) return fail(Error(ErrorCode::kParse, "the answer has no Id").with(what));
  return id;
}

Result<void> DockerClient::start(std::string_view id) {
  const std::string what = "docker: start container " + std::string(id);
  auto resp = send(request("POST", container_path(id, "/start"), kCallTimeoutMs), what);
  if (!resp) return fail(std::move(resp.error()));
  if (resp->status == 204 || resp->status == 304) return {};  // 304: already running
  return fail(wire::answer_error(resp->status, resp->body).with(what));
}

Result<ContainerState> DockerClient::inspect_container(std::string_view id) {
  const std::string what = "docker: inspect container " + std::string(id);
  auto resp = send(request("GET", container_path(id, "/json"), kCallTimeoutMs), what);
  if (!resp) return fail(std::move(resp.error()));
  if (resp->status != 200) return fail(wire::answer_error(resp->status, resp->body).with(what));
  auto doc = wire::parse_body(resp->body);
  if (!doc) return fail(std::move(doc.error()).with(what));
  const json& s = wire::object(*doc, "State");
  ContainerState state;
  state.status = wire::text(s, "Status");
  state.running = wire::flag(s, "Running");
  state.pid = static_cast<int>(wire::number(s, "Pid"));
  state.exit_code = static_cast<int>(wire::number(s, "ExitCode"));
  state.oom_killed = wire::flag(s, "OOMKilled");
  state.error = wire::text(s, "Error");
  return state;
}

Result<void> DockerClient::kill(std::string_view id, std::string_view signal) {
  const std::string what = "docker: kill container " + std::string(id);
  const std::string path =
      container_path(id, "/kill") + wire::query({{"signal", std::string(signal)}});
  auto resp = send(request("POST", path, kCallTimeoutMs), what);
  if (!resp) return fail(std::move(resp.error()));
  // 409 is "is not running": it has exited, or was never started, which is what kill is for.
  if (resp->status == 204 || resp->status == 409) return {};
  return fail(wire::answer_error(resp->status, resp->body).with(what));
}

Result<void> DockerClient::remove(std::string_view id, bool force, bool volumes) {
  const std::string what = "docker: remove container " + std::string(id);
  const std::string path =
      container_path(id) + wire::query({{"force", force ? "1" : ""}, {"v", volumes ? "1" : ""}});
  auto resp = send(request("DELETE", path, kCallTimeoutMs), what);
  if (!resp) return fail(std::move(resp.error()));
  if (resp->status == 204 || resp->status == 404) return {};
  return fail(wire::answer_error(resp->status, resp->body).with(what));
}

Result<std::vector<ContainerSummary>> DockerClient::list_containers(
    const std::map<std::string, std::string>& labels, bool all) {
  const std::string what = "docker: list containers";
  json filters = json::object();
  if (!labels.empty()) {
    json wanted = json::array();
    for (const auto& [k, v] : labels) wanted.push_back(v.empty() ? k : k + "=" + v);
    filters["label"] = std::move(wanted);
  }
  const std::string path =
      "/containers/json" +
      wire::query({{"all", all ? "1" : ""}, {"filters", labels.empty() ? "" : json_text(filters)}});
  auto resp = send(request("GET", path, kCallTimeoutMs), what);
  if (!resp) return fail(std::move(resp.error()));
  if (resp->status != 200) return fail(wire::answer_error(resp->status, resp->body).with(what));
  auto doc = wire::parse_body(resp->body);
  if (!doc) return fail(std::move(doc.error()).with(what));
  if (!doc->is_array())
    return fail(Error(ErrorCode::kParse, "the answer is not a list").with(what));
  std::vector<ContainerSummary> out;
  for (const json& c : *doc) {
    out.push_back({wire::text(c, "Id"), wire::strings(c, "Names"), wire::string_map(c, "Labels"),
                   wire::text(c, "State")});
  }
  return out;
}

Result<int> DockerClient::wait(std::string_view id, long timeout_ms) {
  const std::string what = "docker: wait for container " + std::string(id);
  const std::string path =
      container_path(id, "/wait") + wire::query({{"condition", "not-running"}});
  auto resp = send(request("POST", path, timeout_ms), what);
  if (!resp) return fail(std::move(resp.error()));
  if (resp->status != 200) return fail(wire::answer_error(resp->status, resp->body).with(what));
  auto doc = wire::parse_body(resp->body);
  if (!doc) return fail(std::move(doc.error()).with(what));
  // Set when the daemon lost track of the container while waiting (it was removed, say).
  if (std::string err = wire::text(wire::object(*doc, "Error"), "Message"); !err.empty())
    return fail(Error(ErrorCode::kIo, std::move(err)).with(what));
  return static_cast<int>(wire::number(*doc, "StatusCode"));
}

}  // namespace kiln::docker
