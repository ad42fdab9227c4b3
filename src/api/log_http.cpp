// GET /logs/<project>/<uuid>: a build's log over plain HTTP (docs/server.md). With `?follow=1`
// the response streams (chunked) as the build prints and ends when the build does; a `Range:
// bytes=A-B` header gets those bytes of the log (206). Signed with SigV4 like the API, e.g.
// `curl --aws-sigv4 aws:amz:us-east-1:codebuild --user KEY:SECRET`.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <memory>
#include <stdexcept>

#include "api/service.h"
#include "api/validate.h"
#include "util/unique_fd.h"

namespace kiln::api {
namespace {

// Ranges up to this size are answered with a plain body; larger ones (and the whole log) are
// streamed in pieces of kPiece, so no read holds more than that per connection.
constexpr std::uint64_t kWholeBody = std::uint64_t{1} << 20;
constexpr std::size_t kPiece = std::size_t{64} * 1024;

http::Response plain(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
  r.body = std::move(body);
  return r;
}

// "bytes=A-B", "bytes=A-" or "bytes=-N" against a file of `size` bytes; false if unusable.
bool parse_range(const std::string& h, std::uint64_t size, std::uint64_t& from, std::uint64_t& to) {
  if (!h.starts_with("bytes=") || size == 0) return false;
  const std::string spec = h.substr(6);
  const auto dash = spec.find('-');
  if (dash == std::string::npos || spec.find(',') != std::string::npos) return false;
  auto num = [](std::string_view s, std::uint64_t& out) {
    return !s.empty() &&
           std::from_chars(s.data(), s.data() + s.size(), out).ptr == s.data() + s.size();
  };
  std::uint64_t a = 0;
  std::uint64_t b = size - 1;
  const std::string_view left(spec.data(), dash);
  const std::string_view right(spec.data() + dash + 1, spec.size() - dash - 1);
  if (left.empty()) {
    std::uint64_t n = 0;
    if (!num(right, n) || n == 0) return false;
    a = n >= size ? 0 : size - n;
  } else {
    if (!num(left, a)) return false;
    if (!right.empty() && !num(right, b)) return false;
  }
  if (a >= size || b < a) return false;
  from = a;
  to = std::min(b, size - 1);
  return true;
}

}  // namespace

http::Response Service::get_log(const http::Request& req) {
  // /logs/<project>/<uuid>
  const std::string rest = req.path.substr(std::string_view("/logs/").size());
  const auto slash = rest.find('/');
  const std::string project = rest.substr(0, slash);
  const std::string uuid = slash == std::string::npos ? "" : rest.substr(slash + 1);
  const bool uuid_ok = !uuid.empty() && uuid.size() <= 64 &&
                       uuid.find_first_not_of("0123456789abcdef-") == std::string::npos;
  if (!valid_project_name(project) || !uuid_ok) return plain(404, "no such log\n");
  const auto path = options_.data.log_path(project, uuid);
  auto rows = store_.get_builds({project + ":" + uuid});
  if (!rows || rows->empty()) return plain(404, "no such build\n");

  if (req.query.find("follow=1") != std::string::npos) {
    http::Response r;
    r.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
    auto offset = std::make_shared<off_t>(0);
    const std::string id = project + ":" + uuid;
    // Called on the server's workers and must not block: an empty piece means "nothing yet",
    // and the server asks again after its stream_poll (no thread waits per follower).
    r.stream = [this, path, offset, id](std::string& out) {
      const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd) {
        out.resize(kPiece);
        const ssize_t n = ::pread(fd.get(), out.data(), kPiece, *offset);
        out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        if (n > 0) {
          *offset += n;
          return true;
        }
      }
      // Nothing new: end once the build has (and all it printed was sent).
      auto now_rows = store_.get_builds({id});
      if (!now_rows || now_rows->empty() || now_rows->front().state == store::BuildState::kDone) {
        if (!fd) return false;
        struct stat st {};
        return ::fstat(fd.get(), &st) == 0 && st.st_size > *offset;
      }
      return true;
    };
    return r;
  }

  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) return plain(200, "");  // queued: nothing printed yet
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t from = 0;
  std::uint64_t to = size == 0 ? 0 : size - 1;
  int status = 200;
  if (const std::string* range = req.header("range")) {
    if (!parse_range(*range, size, from, to)) {
      http::Response r = plain(416, "");
      r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      return r;
    }
    status = 206;
  }
  const std::uint64_t length = size == 0 ? 0 : to - from + 1;
  http::Response r = plain(status, "");
  if (status == 206) {
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" +
                                                std::to_string(to) + "/" + std::to_string(size));
  } else {
    r.headers.emplace_back("Accept-Ranges", "bytes");
  }
  if (length <= kWholeBody) {
    r.body.resize(length);
    std::size_t got = 0;
    while (got < length) {
      const ssize_t n =
          ::pread(fd.get(), r.body.data() + got, length - got, static_cast<off_t>(from + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the file shrank: send what there is
      got += static_cast<std::size_t>(n);
    }
    r.body.resize(got);
    return r;
  }
  // Larger: streamed from the file piece by piece (chunked), never held whole.
  auto shared = std::make_shared<UniqueFd>(std::move(fd));
  auto next = std::make_shared<std::uint64_t>(from);
  const std::uint64_t stop = from + length;
  r.stream = [shared, next, stop](std::string& out) {
    if (*next >= stop) return false;
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, stop - *next));
    out.resize(want);
    const ssize_t n = ::pread(shared->get(), out.data(), want, static_cast<off_t>(*next));
    if (n <= 0) throw std::runtime_error("the log shrank while it was sent");
    out.resize(static_cast<std::size_t>(n));
    *next += static_cast<std::uint64_t>(n);
    return true;
  };
  return r;
}

}  // namespace kiln::api
