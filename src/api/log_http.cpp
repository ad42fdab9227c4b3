// GET /logs/<project>/<uuid>: a build's log over plain HTTP (docs/server.md). With `?follow=1`
// the response streams (chunked) as the build prints and ends when the build does; a `Range:
// bytes=A-B` header gets those bytes of the log (206). Signed with SigV4 like the API, e.g.
// `curl --aws-sigv4 aws:amz:us-east-1:codebuild --user KEY:SECRET`.
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <thread>

#include "api/service.h"
#include "api/validate.h"
#include "util/files.h"

namespace kiln::api {
namespace {

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
    r.stream = [this, path, offset, id](std::string& out) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        char buf[65536];
        const ssize_t n = ::pread(fd, buf, sizeof buf, *offset);
        ::close(fd);
        if (n > 0) {
          out.append(buf, static_cast<std::size_t>(n));
          *offset += n;
          return true;
        }
      }
      // Nothing new: end once the build has, else wait a little (an empty piece is a heartbeat).
      auto now_rows = store_.get_builds({id});
      if (!now_rows || now_rows->empty() || now_rows->front().state == store::BuildState::kDone) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return true;
    };
    return r;
  }

  auto text = read_file(path);
  if (!text) return plain(200, "");  // queued: nothing printed yet
  if (const std::string* range = req.header("range")) {
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    if (!parse_range(*range, text->size(), from, to)) {
      http::Response r = plain(416, "");
      r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(text->size()));
      return r;
    }
    http::Response r = plain(206, text->substr(from, to - from + 1));
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" +
                                                std::to_string(to) + "/" +
                                                std::to_string(text->size()));
    return r;
  }
  http::Response r = plain(200, std::move(*text));
  r.headers.emplace_back("Accept-Ranges", "bytes");
  return r;
}

}  // namespace kiln::api
