// INSTALL, PRE_BUILD, BUILD and POST_BUILD: commands, finally and on-failure (§3.3, §3.4).
#include <cstring>
#include <regex>

#include "engine/build_run.h"
#include "util/string.h"

namespace kiln::engine {

namespace {
// Searches each line of the failing command's output tail. Line by line bounds the work of
// std::regex's backtracking (and its recursion depth) by the line length, and matches how the
// docs' examples (`.*connection timed out.*`) are written. A regex that exhausts std::regex's
// complexity limit counts as no match.
bool output_matches(const std::string& output, const std::string& pattern) {
  try {
    const std::regex re(pattern);
    std::size_t pos = 0;
    while (pos <= output.size()) {
      auto end = output.find('\n', pos);
      if (end == std::string::npos) end = output.size();
      if (std::regex_search(output.begin() + static_cast<long>(pos),
                            output.begin() + static_cast<long>(end), re))
        return true;
      pos = end + 1;
    }
  } catch (const std::regex_error&) {
  }
  return false;
}

// Go's os/exec wording, which CodeBuild's agent prints: "exit status 2", "signal: killed".
std::string reason(const exec::CommandResult& r) {
  if (r.end == exec::CommandResult::End::kSignaled)
    return "signal: " + to_lower(::strsignal(r.exit_code));
  return "exit status " + std::to_string(r.exit_code);
}
}  // namespace

exec::CommandRequest BuildRun::command_request(const std::string& text,
                                               const spec::Phase& phase) const {
  exec::CommandRequest r;
  r.text = text;
  r.shell = spec_->env.shell.value_or("sh");
  // 0.1 runs each command in isolation (§2.3); 0.2 carries the state along (§2.2).
  r.state = spec_->version == spec::Version::k0_1 ? initial_state_ : state_;
  r.run_as = phase.run_as ? phase.run_as : spec_->run_as;
  r.deadline = deadline_;
  return r;
}

std::optional<PhaseOutcome> BuildRun::run_one(const spec::Command& cmd, const spec::Phase& phase,
                                              std::string& failed_output, bool phase_failing) {
  if (cancel_.cancelled()) stopped_ = true;
  if (!stopped_ && out_of_time()) timed_out_ = true;
  if (stopped_ || timed_out_) return interrupted_outcome();

  log_.line("Running command " + cmd.text);
  exec::CommandRequest request = command_request(cmd.text, phase);
  request.state.env["CODEBUILD_BUILD_SUCCEEDING"] = succeeding_ && !phase_failing ? "1" : "0";
  request.state.env["CODEBUILD_LAST_EXIT"] = std::to_string(last_exit_);
  auto result = deps_.executor.run(
      request, [this](std::string_view chunk) { log_.output(chunk); }, cancel_);
  if (!result) {
    const std::string why = result.error().describe();
    log_.line("Command did not exit successfully " + cmd.text + " " + why);
    return PhaseOutcome{Status::kFailed, PhaseContext{"COMMAND_EXECUTION_ERROR",
                                                      "Error while executing command: " + cmd.text +
                                                          ". Reason: " + why}};
  }
  if (spec_->version == spec::Version::k0_2 && !result->state.cwd.empty()) state_ = result->state;

  using End = exec::CommandResult::End;
  if (result->end == End::kCancelled) stopped_ = true;
  if (result->end == End::kTimedOut) timed_out_ = true;
  if (stopped_ || timed_out_) return interrupted_outcome();

  last_exit_ = result->exit_code;
  if (result->end == End::kExited && result->exit_code == 0) return std::nullopt;
  std::string why = reason(*result);
  if (!result->diagnosis.empty()) why += " (" + result->diagnosis + ")";
  log_.line("Command did not exit successfully " + cmd.text + " " + why);
  failed_output = result->tail;
  return PhaseOutcome{Status::kFailed, PhaseContext{"COMMAND_EXECUTION_ERROR",
                                                    "Error while executing command: " + cmd.text +
                                                        ". Reason: " + why}};
}

PhaseOutcome BuildRun::run_commands_once(const spec::Phase& phase, std::string& failed_output) {
  std::optional<PhaseOutcome> failure;
  for (const auto& cmd : phase.commands) {
    failure = run_one(cmd, phase, failed_output, false);
    if (failure) break;
  }
  if (failure && failure->status != Status::kFailed) return *failure;  // no finally once killed
  // `finally` runs even when a command failed; it stops at its own first failure too.
  for (const auto& cmd : phase.finally) {
    std::string finally_output;
    auto f = run_one(cmd, phase, finally_output, failure.has_value());
    if (!f) continue;
    if (f->status != Status::kFailed || !failure) {
      failure = f;
      failed_output = finally_output;
    }
    break;
  }
  return failure.value_or(PhaseOutcome{});
}

PhaseOutcome BuildRun::run_command_phase(spec::PhaseName name) {
  const spec::Phase& phase = spec_->phases.at(name);
  if (!phase.present) return {};

  const exec::ShellState start_state = state_;
  const auto& policy = phase.on_failure;
  for (int attempt = 0;; ++attempt) {
    std::string failed_output;
    PhaseOutcome o = run_commands_once(phase, failed_output);
    if (o.status != Status::kFailed || policy.kind != spec::OnFailure::Kind::kRetry) return o;
    if (attempt >= policy.retry_count) {
      log_.line("Phase " + std::string(spec::upper_name(name)) + " failed after " +
                std::to_string(attempt) + " retries");
      return o;
    }
    if (!output_matches(failed_output, policy.retry_regex)) {
      log_.line("Not retrying phase " + std::string(spec::upper_name(name)) +
                ": output does not match " + policy.retry_regex);
      return o;
    }
    log_.line("Retrying phase " + std::string(spec::upper_name(name)) + " (retry " +
              std::to_string(attempt + 1) + " of " + std::to_string(policy.retry_count) + ")");
    state_ = start_state;  // each attempt starts from the state the phase started with
  }
}

}  // namespace kiln::engine
