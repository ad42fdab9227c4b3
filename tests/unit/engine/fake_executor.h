// A scripted Executor for testing the engine's state machine without processes.
// Each command text maps to a Script; unknown commands succeed with no output.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "util/clock.h"

namespace kiln::testing {

struct Script {
  int exit_code = 0;
  exec::CommandResult::End end = exec::CommandResult::End::kExited;
  std::string output;
  std::map<std::string, std::string> set_env;  // applied to the state it returns
  std::string cd;                              // new cwd, if not empty
  int fail_times = -1;                         // >= 0: fail only the first N runs, then succeed
  std::chrono::milliseconds takes{0};          // advanced on the FakeClock, if one is set
};

class FakeExecutor final : public exec::Executor {
 public:
  std::map<std::string, Script> scripts;
  std::vector<exec::CommandRequest> runs;  // every request, in order
  bool prepare_fails = false;
  // Set: prepare() behaves as if the build were stopped while it provisioned (a slow image
  // build): it fires the token and gives up with kCancelled, as executors/image_source.h does.
  exec::CancelToken* stop_while_preparing = nullptr;
  int shutdowns = 0;
  FakeClock* clock = nullptr;

  Result<std::filesystem::path> prepare(const exec::PrepareRequest& req) override {
    if (prepare_fails) return fail(ErrorCode::kProcess, "cannot start the environment");
    if (stop_while_preparing != nullptr) {
      stop_while_preparing->cancel();
      if (req.cancel == nullptr || !req.cancel->cancelled())
        return fail(ErrorCode::kProcess, "prepare was not given the build's cancel token");
      return fail(ErrorCode::kCancelled, "/usr/bin/mmdebstrap was cancelled");
    }
    return std::filesystem::path("/codebuild/output/src1/src");
  }

  Result<exec::CommandResult> run(const exec::CommandRequest& req, const exec::OutputFn& out,
                                  const exec::CancelToken&) override {
    runs.push_back(req);
    exec::CommandResult r;
    r.state = req.state;
    auto it = scripts.find(req.text);
    if (it == scripts.end()) {
      // Heredoc expansion requests from the engine: echo the body back verbatim.
      if (req.text.rfind("cat <<", 0) == 0) {
        auto first = req.text.find('\n') + 1;
        auto last = req.text.rfind('\n');
        out(req.text.substr(first, last - first) + "\n");
      }
      return r;
    }
    Script& s = it->second;
    if (clock) clock->advance(s.takes);
    if (!s.output.empty()) out(s.output);
    for (const auto& [k, v] : s.set_env) r.state.env[k] = v;
    if (!s.cd.empty()) r.state.cwd = s.cd;
    r.tail = s.output;
    bool failing = s.fail_times < 0 || s.fail_times > 0;
    if (s.fail_times > 0) --s.fail_times;
    r.end = failing ? s.end : exec::CommandResult::End::kExited;
    r.exit_code = failing ? s.exit_code : 0;
    return r;
  }

  void shutdown() override { ++shutdowns; }

  std::vector<std::string> texts() const {
    std::vector<std::string> t;
    for (const auto& r : runs) t.push_back(r.text);
    return t;
  }
};

}  // namespace kiln::testing
