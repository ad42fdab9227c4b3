// libFuzzer target for FilterLogEvents' filter patterns (api/filter_pattern.h): the pattern is
// caller input, and the messages it runs over are whatever a build printed.
//
// Input layout: the pattern, a 0x00 byte, then messages separated by '\n'. A pattern that does
// not compile must fail with a message (never crash); one that compiles is matched against
// every message, and matching twice must give the same answer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/filter_pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto nul = in.find('\0');
  const std::string_view pattern = in.substr(0, std::min<std::size_t>(nul, 1024));
  std::string_view rest = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
  auto compiled = kiln::api::FilterPattern::compile(pattern);
  if (!compiled) {
    if (compiled.error().message().empty()) __builtin_trap();
    return 0;
  }
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view message = rest.substr(0, nl);
    if (compiled->matches(message) != compiled->matches(message)) __builtin_trap();
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  return 0;
}
