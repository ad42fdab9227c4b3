// libFuzzer target for the HTTP request parser (http/request_parser.h): request lines, headers,
// chunked bodies with extensions and trailers, pipelined requests. The first byte picks how the
// input is split into reads, like TCP would; the invariant checked besides ASan/UBSan is the
// one docs/security.md (finding 7) needs: the bytes the caller must keep buffered stay under the
// limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/request_parser.h"

namespace {

constexpr kiln::http::ParserLimits kLimits{4096, 65536, 512};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  kiln::http::Request req;
  auto parser = std::make_unique<kiln::http::RequestParser>(req, kLimits);
  std::string buf;
  for (std::size_t at = 0; at < input.size(); at += step) {
    buf.append(input.substr(at, step));
    for (;;) {
      std::size_t used = 0;
      const auto st = parser->feed(buf, used);
      if (used > buf.size()) std::abort();
      buf.erase(0, used);
      if (st == kiln::http::ParseStatus::kError) {
        if (parser->status() != 400 && parser->status() != 413 && parser->status() != 431) {
          std::abort();
        }
        return 0;
      }
      if (st == kiln::http::ParseStatus::kHeaderDone) {
        static_cast<void>(req.header("authorization"));
        continue;
      }
      if (st == kiln::http::ParseStatus::kDone) {
        if (req.body.size() > kLimits.max_body) std::abort();
        parser = std::make_unique<kiln::http::RequestParser>(req, kLimits);  // pipelined
        if (!buf.empty()) continue;
      }
      break;
    }
    // Held back: at most a head under way, or a chunk line or trailer, plus one read.
    if (buf.size() > kLimits.max_header + kLimits.max_chunk_meta + step) std::abort();
  }
  if (parser->got_some()) static_cast<void>(parser->finish());
  return 0;
}
