// The one home of looking up a function in a library opened with dlopen: Kiln loads libcurl
// (net/curl_client.cpp) and libxml2 (reports/xml_reader.cpp) at first use, so neither is linked
// into the static binary nor resolved at every start.
#pragma once

#include <dlfcn.h>

namespace kiln {

// Sets `out` to the function `name` of `lib`; false (and `out` untouched) when it is missing.
template <typename F>
bool dl_resolve(void* lib, const char* name, F& out) {
  void* sym = ::dlsym(lib, name);
  if (sym == nullptr) return false;
  out = reinterpret_cast<F>(sym);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): dlsym
  return true;
}

}  // namespace kiln
