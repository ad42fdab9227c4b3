// kiln-agent: runs a build's commands inside a sandbox or a container (docs/executors.md).
//
//   kiln-agent --connect SOCKET
//
// It connects to kiln's socket (bind-mounted into the environment), then serves the frames of
// exec/agent_protocol.h with a ProcessExecutor until kiln says shutdown or goes away. When the
// connection drops (kiln was killed), the agent kills every process of the build and exits, so
// a container stops and a sandbox ends with it.
//
// Built fully static (CMakeLists.txt), so it runs in any image whatever its libc.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "exec/agent_protocol.h"
#include "exec/process_executor.h"

namespace {

using kiln::Result;
using namespace kiln::exec;
using agent::FrameType;

int connect_to(const char* path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if (len >= sizeof addr.sun_path) return -1;
  std::memcpy(addr.sun_path, path, len + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Frames are read by one thread for the agent's whole life, so that a kCancel is seen while the
// main thread is inside ProcessExecutor::run(). The main thread takes the other frames in order.
class Inbox {
 public:
  explicit Inbox(int fd) : reader_(fd) {}

  void serve() {
    for (;;) {
      auto f = reader_.read_blocking();
      std::lock_guard lock(mu_);
      if (!f) {
        closed_ = true;
        if (current_ != nullptr) current_->cancel();
        cv_.notify_all();
        return;
      }
      if (f->type == FrameType::kCancel) {
        if (current_ != nullptr) current_->cancel();
        continue;
      }
      queue_.push_back(std::move(*f));
      cv_.notify_all();
    }
  }

  // The next request, or nullopt once kiln has gone.
  std::optional<agent::Frame> take() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return std::nullopt;
    auto f = std::move(queue_.front());
    queue_.erase(queue_.begin());
    return f;
  }

  // Routes kCancel to `token` while a command runs (nullptr after it).
  void set_current(CancelToken* token) {
    std::lock_guard lock(mu_);
    current_ = token;
    if (closed_ && token != nullptr) token->cancel();
  }

 private:
  agent::FrameReader reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<agent::Frame> queue_;
  CancelToken* current_ = nullptr;
  bool closed_ = false;
};

int serve(int fd) {
  Inbox inbox(fd);
  std::thread reader([&] { inbox.serve(); });
  reader.detach();  // blocks in read() until the socket closes; the process exits first
  ProcessExecutor executor;
  for (;;) {
    auto frame = inbox.take();
    if (!frame) break;
    Result<void> sent;
    switch (frame->type) {
      case FrameType::kPrepare: {
        auto req = agent::decode_prepare(frame->payload);
        auto cwd =
            req ? executor.prepare(*req) : Result<std::filesystem::path>(tl::unexpect, req.error());
        sent = cwd ? agent::write_frame(fd, FrameType::kReady, agent::encode_path(*cwd))
                   : agent::write_frame(fd, FrameType::kError, agent::encode_error(cwd.error()));
        break;
      }
      case FrameType::kCommand: {
        auto req = agent::decode_command(frame->payload, std::chrono::steady_clock::now());
        if (!req) {
          sent = agent::write_frame(fd, FrameType::kError, agent::encode_error(req.error()));
          break;
        }
        auto cancel = CancelToken::create();
        if (!cancel) {
          sent = agent::write_frame(fd, FrameType::kError, agent::encode_error(cancel.error()));
          break;
        }
        inbox.set_current(&*cancel);
        auto result = executor.run(
            *req,
            [&](std::string_view chunk) {
              (void)agent::write_frame(fd, FrameType::kOutput, chunk);
            },
            *cancel);
        inbox.set_current(nullptr);
        sent = result
                   ? agent::write_frame(fd, FrameType::kResult, agent::encode_result(*result))
                   : agent::write_frame(fd, FrameType::kError, agent::encode_error(result.error()));
        break;
      }
      case FrameType::kShutdown:
        executor.shutdown();
        (void)agent::write_frame(fd, FrameType::kDone, "");
        return 0;
      default:
        sent = agent::write_frame(fd, FrameType::kError,
                                  agent::encode_error(kiln::Error(kiln::ErrorCode::kInvalidArgument,
                                                                  "unexpected agent frame")));
    }
    if (!sent) break;
  }
  executor.shutdown();  // kiln has gone: nothing of the build may outlive it
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--connect") != 0) {
    std::fprintf(stderr, "usage: kiln-agent --connect SOCKET\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a vanished kiln is seen as a write error instead
  // A container's working folder may have been made before the build folder was mounted over
  // it; every command starts from its own state's cwd anyway.
  if (::chdir("/") != 0) return 1;
  // bwrap makes the mount points' parents 0700; run-as users must be able to reach the build.
  for (const char* dir : {"/codebuild", "/codebuild/output"}) (void)::chmod(dir, 0755);
  const int fd = connect_to(argv[2]);
  if (fd < 0) {
    std::fprintf(stderr, "kiln-agent: cannot connect to %s: %s\n", argv[2], std::strerror(errno));
    return 1;
  }
  return serve(fd);
}
