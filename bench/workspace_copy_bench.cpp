// Times one workspace::copy_tree call; driven by bench/workspace_bench.sh.
//
//   workspace_copy_bench SRC DST [auto|copy|reflink|hardlink] [THREADS]
//
// Prints "<seconds> files=<n> bytes=<n> reflinked=<n> hardlinked=<n>" on success.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "workspace/workspace.h"

int main(int argc, char** argv) {
  using kiln::workspace::CopyMode;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SRC DST [auto|copy|reflink|hardlink] [THREADS]\n", argv[0]);
    return 2;
  }
  CopyMode mode = CopyMode::kAuto;
  if (argc > 3) {
    const std::string m = argv[3];
    if (m == "copy") {
      mode = CopyMode::kCopy;
    } else if (m == "reflink") {
      mode = CopyMode::kReflink;
    } else if (m == "hardlink") {
      mode = CopyMode::kHardlink;
    } else if (m != "auto") {
      std::fprintf(stderr, "unknown mode %s\n", m.c_str());
      return 2;
    }
  }
  const unsigned threads = argc > 4 ? static_cast<unsigned>(std::strtoul(argv[4], nullptr, 10)) : 0;

  const auto t0 = std::chrono::steady_clock::now();
  auto stats = kiln::workspace::copy_tree(argv[1], argv[2], mode, threads);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  if (!stats) {
    std::fprintf(stderr, "%s\n", stats.error().describe().c_str());
    return 1;
  }
  std::printf("%.3f files=%llu bytes=%llu reflinked=%llu hardlinked=%llu\n", took.count(),
              static_cast<unsigned long long>(stats->files),
              static_cast<unsigned long long>(stats->bytes),
              static_cast<unsigned long long>(stats->reflinked),
              static_cast<unsigned long long>(stats->hardlinked));
  return 0;
}
