// Budget (docs/reference/design.md §4): "artifact zip of 20k small files: no slower than zip -qr".
//
// Builds a tree of FILES small files (100..2000 bytes of text-like content, deterministic) in
// DIRS directories under a temp dir, then alternates RUNS timed runs of
//   kiln:  LocalArtifactUploader, files: ['**/*'] -> out/artifacts.zip (includes the walk,
//          the sha256/md5 and the fsync)
//   zip:   cd tree && zip -qr out.zip .   (Info-ZIP, default level 6; old zip removed first)
// after one untimed warm-up of each, and prints both medians and their ratio.
//
// Usage: artifact_zip_bench [FILES=20000] [DIRS=200] [RUNS=5] [kiln-only]
// `kiln-only` skips zip and repeats the kiln run, for `perf record`.
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "artifacts/local_uploader.h"
#include "logs/log_sink.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string text_content(std::mt19937& rng, std::size_t size) {
  static const char* kWords[] = {"int",    "return", "const", "static", "void",     "include",
                                 "string", "vector", "kiln",  "build",  "artifact", "=",
                                 "{",      "}",      "(",     ")",      ";",        "\n",
                                 "for",    "while",  "if",    "else",   "auto",     "0x1f"};
  std::uniform_int_distribution<std::size_t> pick(0, std::size(kWords) - 1);
  std::uniform_int_distribution<int> num(0, 99999);
  std::string s;
  while (s.size() < size) {
    s += kWords[pick(rng)];
    s += ' ';
    if (pick(rng) == 0) s += std::to_string(num(rng));  // some entropy, like real sources
  }
  s.resize(size);
  return s;
}

void make_tree(const fs::path& root, int files, int dirs) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<std::size_t> size(100, 2000);
  for (int d = 0; d < dirs; ++d) {
    fs::create_directories(root / ("pkg" + std::to_string(d / 20)) / ("mod" + std::to_string(d)));
  }
  for (int i = 0; i < files; ++i) {
    const int d = i % dirs;
    fs::path p = root / ("pkg" + std::to_string(d / 20)) / ("mod" + std::to_string(d)) /
                 ("file" + std::to_string(i) + ".src");
    std::ofstream(p, std::ios::binary) << text_content(rng, size(rng));
  }
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double run_kiln(const fs::path& src, const fs::path& out) {
  kiln::spec::Artifacts arts;
  arts.present = true;
  arts.primary.files = {"**/*"};
  kiln::artifacts::UploadRequest req;
  req.artifacts = &arts;
  req.src_dir = src;
  req.output_dir = out;
  kiln::logs::MemorySink log;
  kiln::artifacts::LocalArtifactUploader up;
  const auto t0 = Clock::now();
  auto r = up.upload(req, log);
  const double s = seconds_since(t0);
  if (!r || r->failure || !r->primary) {
    std::fprintf(stderr, "kiln upload failed: %s\n",
                 !r           ? r.error().describe().c_str()
                 : r->failure ? r->failure->message.c_str()
                              : "no primary");
    std::exit(1);
  }
  return s;
}

double run_zip(const fs::path& src, const fs::path& zip) {
  fs::remove(zip);  // zip -r would otherwise update the old archive
  const std::string cmd = "cd '" + src.string() + "' && exec zip -qr '" + zip.string() + "' .";
  const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
  const auto t0 = Clock::now();
  pid_t pid;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    std::perror("posix_spawn");
    std::exit(1);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  const double s = seconds_since(t0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "zip failed\n");
    std::exit(1);
  }
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int files = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int dirs = argc > 2 ? std::atoi(argv[2]) : 200;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  const bool kiln_only = argc > 4 && std::string(argv[4]) == "kiln-only";

  std::string tmpl = (fs::temp_directory_path() / "kiln-zip-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path top = tmpl;
  const fs::path src = top / "src";
  const fs::path out = top / "out";
  fs::create_directories(out);
  make_tree(src, files, dirs);

  run_kiln(src, out);  // warm-up: page cache, allocator
  if (kiln_only) {
    std::vector<double> t;
    for (int i = 0; i < runs; ++i) t.push_back(run_kiln(src, out));
    std::printf("kiln LocalArtifactUploader: median %.1f ms\n", median(t) * 1e3);
    fs::remove_all(top);
    return 0;
  }
  run_zip(src, out / "zip.zip");
  std::vector<double> kiln_s, zip_s;
  for (int i = 0; i < runs; ++i) {
    kiln_s.push_back(run_kiln(src, out));
    zip_s.push_back(run_zip(src, out / "zip.zip"));
  }
  const double k = median(kiln_s), z = median(zip_s);
  std::printf("files=%d dirs=%d runs=%d\n", files, dirs, runs);
  std::printf("kiln LocalArtifactUploader: median %.1f ms, zip %.2f MiB\n", k * 1e3,
              fs::file_size(out / "artifacts.zip") / 1048576.0);
  std::printf("zip -qr:                    median %.1f ms, zip %.2f MiB\n", z * 1e3,
              fs::file_size(out / "zip.zip") / 1048576.0);
  std::printf("ratio kiln/zip: %.2f (budget: <= 1.00)\n", k / z);
  fs::remove_all(top);
  return k <= z ? 0 : 1;
}
