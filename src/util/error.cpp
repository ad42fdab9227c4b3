#include "util/error.h"

#include <cerrno>
#include <cstring>

namespace kiln {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kAlreadyExists: return "already exists";
    case ErrorCode::kParse: return "parse error";
    case ErrorCode::kIo: return "i/o error";
    case ErrorCode::kProcess: return "process error";
    case ErrorCode::kPathEscape: return "path escapes its root";
    case ErrorCode::kPermission: return "permission denied";
    case ErrorCode::kTimeout: return "timed out";
    case ErrorCode::kCancelled: return "cancelled";
    case ErrorCode::kInternal: return "internal error";
  }
  return "unknown error";
}

std::string Error::describe() const {
  std::string out;
  for (auto it = context_.rbegin(); it != context_.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message_;
  return out;
}

Error errno_error(ErrorCode code, const std::string& what) {
  const int saved = errno;
  return Error(code, what + ": " + std::strerror(saved));
}

}  // namespace kiln
