// The error model (see ARCHITECTURE.md "Errors").
//
// Anything that can fail in normal use returns Result<T> = tl::expected<T, Error>. An Error
// carries a machine-readable code, a human message, and a stack of context strings that callers
// push as the error travels outward ("while preparing workspace /x"). Exceptions are caught at
// exactly one boundary per entry point (apps/kiln/main.cpp) and turned into exit status 2.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace kiln {

enum class ErrorCode {
  kInvalidArgument,  // the caller passed something malformed (a flag, a path, a pattern)
  kNotFound,         // a file, variable or object does not exist
  kAlreadyExists,    // creating something whose name is taken (a project, a key)
  kParse,            // malformed input text (YAML, JSON, env file)
  kIo,               // a syscall or library call on files failed
  kProcess,          // fork/exec/wait failed
  kPathEscape,       // a user path tried to leave its root
  kPermission,       // refused for want of credentials or rights (S3 AccessDenied, git auth)
  kTimeout,
  kCancelled,
  kInternal,
};

const char* to_string(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<std::string>& context() const { return context_; }

  // Adds an outer layer of context; returns *this so `return err.with("while ...")` reads well.
  Error& with(std::string context) & {
    context_.push_back(std::move(context));
    return *this;
  }
  Error&& with(std::string context) && {
    context_.push_back(std::move(context));
    return std::move(*this);
  }

  // "outermost context: ...: message", the form printed to users.
  std::string describe() const;

 private:
  ErrorCode code_;
  std::string message_;
  std::vector<std::string> context_;
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error(code, std::move(message)));
}
inline tl::unexpected<Error> fail(Error error) {
  return tl::unexpected<Error>(std::move(error));
}

// An Error for a failed syscall, with strerror(errno) appended: "open /x: No such file".
Error errno_error(ErrorCode code, const std::string& what);

}  // namespace kiln
