#include "exec/agent_executor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <system_error>

#include "exec/agent_protocol.h"

namespace kiln::exec {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How long an environment may take from launch to the agent's hello: a cold image on a slow
// disk, not a pull (launch() pulls before it returns).
constexpr std::chrono::seconds kAgentConnectLimit{60};
// After a command's deadline, the agent has this long to report the timeout itself.
constexpr std::chrono::seconds kDeadlineGrace{30};

// sockaddr_un holds 108 bytes; a build folder deep in a data folder may not fit.
constexpr std::size_t kMaxSocketPath = 100;

fs::path relative_if_under(const fs::path& p, const fs::path& root) {
  const auto rel = p.lexically_normal().lexically_relative(root.lexically_normal());
  if (rel.empty() || *rel.begin() == "..") return {};
  return rel;
}

}  // namespace

ContainerLayout ContainerLayout::make(const PrepareRequest& req, fs::path agent) {
  ContainerLayout l;
  l.scratch = req.scratch;
  l.build_root = req.scratch.parent_path();
  l.workspace = req.workspace;
  l.agent_host = std::move(agent);
  l.shared = req.shared_dirs;
  // CodeBuild's folder is /codebuild/output/src<digits>; ours is stable for a build id.
  const auto h = std::hash<std::string>{}(req.build_id) % 1000000000u;
  l.root_inside = fs::path("/codebuild/output") / ("src" + std::to_string(h));
  return l;
}

std::vector<Bind> ContainerLayout::binds() const {
  std::vector<Bind> b{{build_root, root_inside, false}};
  if (relative_if_under(workspace, build_root) != fs::path("src"))
    b.push_back({workspace, workspace_inside(), false});  // in place: the user's own folder
  for (const auto& d : shared) b.push_back({d, d, false});
  b.push_back({ipc_host, ipc_inside(), false});
  b.push_back({agent_host, agent_inside(), true});
  return b;
}

fs::path ContainerLayout::map(const fs::path& host) const {
  if (auto rel = relative_if_under(host, workspace); !rel.empty())
    return rel == "." ? workspace_inside() : workspace_inside() / rel;
  if (auto rel = relative_if_under(host, build_root); !rel.empty())
    return rel == "." ? root_inside : root_inside / rel;
  return {};
}

Result<fs::path> find_agent_binary() {
  if (const char* e = std::getenv("KILN_AGENT"); e != nullptr && *e != '\0') return fs::path(e);
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return fail(ErrorCode::kNotFound, "cannot locate kiln's own executable: " + ec.message());
  auto agent = self.parent_path() / "kiln-agent";
  if (!fs::exists(agent, ec))
    return fail(ErrorCode::kInvalidArgument, "kiln-agent is missing: it must be installed beside " +
                                                 self.string() + " (or named by KILN_AGENT)");
  return agent;
}

AgentExecutor::AgentExecutor() = default;

AgentExecutor::~AgentExecutor() {
  // shutdown() calls virtual functions: subclasses call it from their own destructors.
  close_connection();
}

std::vector<std::string> AgentExecutor::take_notes() {
  return std::exchange(notes_, {});
}

fs::path AgentExecutor::map_path(const fs::path& host) const {
  auto m = layout_.map(host);
  return m.empty() ? host : m;
}

Result<fs::path> AgentExecutor::prepare(const PrepareRequest& req) {
  if (launched_) return fail(ErrorCode::kInternal, "prepare called twice");
  auto agent = find_agent_binary();
  if (!agent) return fail(agent.error());
  layout_ = ContainerLayout::make(req, *agent);
  std::error_code ec;
  fs::create_directories(layout_.scratch, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + layout_.scratch.string() + ": " + ec.message());
  ::chmod(layout_.scratch.c_str(), 0700);
  for (const auto& d : layout_.shared) fs::create_directories(d, ec);

  layout_.ipc_host = layout_.scratch / "ipc";
  if ((layout_.ipc_host / "agent.sock").string().size() > kMaxSocketPath) {
    char tmpl[] = "/tmp/kiln-ipc-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return fail(errno_error(ErrorCode::kIo, "mkdtemp /tmp"));
    layout_.ipc_host = tmpl;
  } else if (::mkdir(layout_.ipc_host.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(errno_error(ErrorCode::kIo, "mkdir " + layout_.ipc_host.string()));
  }
  const auto sock = layout_.ipc_host / "agent.sock";
  ::unlink(sock.c_str());
  listen_fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
  if (!listen_fd_ ||
      ::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_.get(), 1) != 0) {
    auto err = errno_error(ErrorCode::kIo, "listen on " + sock.string());
    close_connection();
    return fail(std::move(err));
  }

  launched_ = true;
  if (auto r = launch(req, layout_); !r) {
    shutdown();
    return fail(r.error());
  }
  if (auto r = accept_agent(kAgentConnectLimit); !r) {
    auto err = r.error();
    shutdown();
    return fail(std::move(err).with("while starting the build environment"));
  }
  PrepareRequest inner{req.build_id, layout_.workspace_inside(),
                       ContainerLayout::agent_scratch_inside(), req.image};
  auto fail_prepare = [&](Error e) {
    shutdown();
    return fail(std::move(e).with("while preparing the build environment"));
  };
  if (auto w = agent::write_frame(conn_fd_.get(), agent::FrameType::kPrepare,
                                  agent::encode_prepare(inner));
      !w)
    return fail_prepare(w.error());
  agent::FrameReader reader(conn_fd_.get());
  auto f = reader.read_blocking(static_cast<int>(kAgentConnectLimit.count() * 1000));
  if (!f) return fail_prepare(f.error());
  if (f->type == agent::FrameType::kError) return fail_prepare(agent::decode_error(f->payload));
  auto cwd = agent::decode_path(f->payload);
  if (!cwd) return fail_prepare(cwd.error());
  return *cwd;
}

Result<void> AgentExecutor::accept_agent(std::chrono::milliseconds limit) {
  const auto until = Clock::now() + limit;
  for (;;) {
    pollfd p{listen_fd_.get(), POLLIN, 0};
    // Short slices: an environment that died (bad image, no sh) is noticed quickly.
    const int r = ::poll(&p, 1, 20);
    if (r > 0) {
      conn_fd_ = UniqueFd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn_fd_) break;
    }
    if (r < 0 && errno != EINTR) return fail(errno_error(ErrorCode::kIo, "poll agent socket"));
    if (!alive()) {
      auto why = diagnose();
      return fail(ErrorCode::kProcess, "the build environment exited before its agent started" +
                                           (why.empty() ? std::string() : ": " + why));
    }
    if (Clock::now() > until) return fail(ErrorCode::kTimeout, "the agent did not connect in time");
  }
  // One connection only: nothing in the build can reach kiln after this.
  listen_fd_.reset();
  ::unlink((layout_.ipc_host / "agent.sock").c_str());
  // The kernel gives the peer's pid in kiln's own pid namespace. /proc/<pid> is opened now and
  // checked against the connection afterwards: if the agent had died in between (and its pid
  // been reused), its end of the socket would have hung up. An agent kiln cannot see (pid 0: a
  // daemon in another pid namespace) only loses absolute paths (open_root), not the build.
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn_fd_.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0) {
    const std::string proc = "/proc/" + std::to_string(cred.pid);
    agent_proc_ = UniqueFd(::open(proc.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    pollfd p{conn_fd_.get(), POLLRDHUP, 0};
    if (agent_proc_ && ::poll(&p, 1, 0) != 0) agent_proc_.reset();
  }
  return {};
}

Result<UniqueFd> AgentExecutor::open_root() const {
  if (shut_down_ || !conn_fd_)
    return fail(ErrorCode::kProcess, "the build environment is not running");
  if (!agent_proc_)
    return fail(ErrorCode::kProcess,
                "the build environment's files cannot be reached from this host (its agent is "
                "in another pid namespace)");
  UniqueFd fd(::openat(agent_proc_.get(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail(errno_error(ErrorCode::kProcess, "open the build environment's root"));
  return fd;
}

Result<CommandResult> AgentExecutor::run(const CommandRequest& req, const OutputFn& out,
                                         const CancelToken& cancel) {
  if (!conn_fd_) return fail(ErrorCode::kInternal, "the build environment is not running");
  if (auto w = agent::write_frame(conn_fd_.get(), agent::FrameType::kCommand,
                                  agent::encode_command(req, Clock::now()));
      !w)
    return fail(w.error());
  ::fcntl(conn_fd_.get(), F_SETFL, ::fcntl(conn_fd_.get(), F_GETFL) | O_NONBLOCK);
  agent::FrameReader reader(conn_fd_.get());
  bool cancel_sent = false;
  const auto backstop = req.deadline == Clock::time_point::max() ? Clock::time_point::max()
                                                                 : req.deadline + kDeadlineGrace;
  for (;;) {
    for (;;) {
      auto f = reader.next();
      if (!f) return fail(f.error());
      if (!*f) break;
      switch ((*f)->type) {
        case agent::FrameType::kOutput: out((*f)->payload); break;
        case agent::FrameType::kResult: {
          auto r = agent::decode_result((*f)->payload);
          if (r && (r->end != CommandResult::End::kExited || r->exit_code != 0) &&
              r->diagnosis.empty())
            r->diagnosis = diagnose();
          return r;
        }
        case agent::FrameType::kError: return fail(agent::decode_error((*f)->payload));
        default:
          return fail(ErrorCode::kParse, "agent protocol: unexpected frame during a command");
      }
    }
    pollfd p[2] = {{conn_fd_.get(), POLLIN, 0}, {cancel.fd(), POLLIN, 0}};
    const int n = ::poll(p, cancel_sent ? 1 : 2, 250);
    if (n < 0 && errno != EINTR) return fail(errno_error(ErrorCode::kIo, "poll agent socket"));
    if (!cancel_sent && (p[1].revents & POLLIN) != 0) {
      (void)agent::write_frame(conn_fd_.get(), agent::FrameType::kCancel, "");
      cancel_sent = true;
    }
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !reader.fill()) {
      auto why = diagnose();
      return fail(ErrorCode::kProcess, "the build environment stopped during the command" +
                                           (why.empty() ? std::string() : ": " + why));
    }
    if (Clock::now() > backstop)
      return fail(ErrorCode::kTimeout, "the agent did not report the command's timeout");
  }
}

void AgentExecutor::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (conn_fd_) {
    // Best effort and bounded: destroy() kills whatever the agent leaves.
    if (agent::write_frame(conn_fd_.get(), agent::FrameType::kShutdown, "")) {
      agent::FrameReader reader(conn_fd_.get());
      for (;;) {
        auto f = reader.read_blocking(5000);
        if (!f || f->type == agent::FrameType::kDone) break;
      }
    }
  }
  close_connection();
  if (launched_) destroy();
  std::error_code ec;
  if (!layout_.ipc_host.empty()) fs::remove_all(layout_.ipc_host, ec);
}

void AgentExecutor::close_connection() {
  conn_fd_.reset();
  agent_proc_.reset();
  listen_fd_.reset();
}

}  // namespace kiln::exec
