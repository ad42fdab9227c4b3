// Times the cache archive path against GNU tar + zstd on the same tree, in one run:
//   kiln pack_paths  vs  tar --zstd -cf       (both zstd level 3)
//   kiln unpack_into vs  tar --zstd -xf       (into fresh folders)
//
//   cache_bench [DIR] [FILES] [MEGABYTES] [THREADS] [ROUNDS] [pack|unpack|both]
//
// DIR (default: a new temp folder) holds tree/, which is generated once and reused while its
// marker matches FILES and MEGABYTES (defaults 50000 files, 500 MB: 90% small files, 10% 11x
// larger ones, half of them text-like and compressible, half random). THREADS is the kiln
// zstd worker count (-1 = the default). Each measurement is the best of ROUNDS (default 2),
// kiln and tar interleaved, after one warm-up read of the tree. Each unpack goes into a new
// folder and all are removed at the end: on ext4, creating files right after deleting 50,000
// others costs several times more (the allocator skips recently deleted inodes), which made
// whichever side ran after a cleanup look 2-5x slower. Budget: kiln/tar <= 1.0.
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cache/build_cache.h"
#include "logs/log_sink.h"

namespace fs = std::filesystem;

namespace {

std::uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
std::uint64_t next() {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

void make_tree(const fs::path& tree, std::uint64_t files, std::uint64_t bytes) {
  static const char* const kWords[] = {
      "const ", "function", "return ", "module.",   "exports", "require(", "\"dependencies\": {",
      "=> {",   "});\n",    "this.",   "undefined", "null, ",  "  ",       "\n"};
  const std::uint64_t avg = bytes / files;
  std::string buf;
  for (std::uint64_t i = 0; i < files; ++i) {
    const fs::path dir = tree / ("d" + std::to_string(i / 1000)) / ("e" + std::to_string(i / 100));
    if (i % 100 == 0) fs::create_directories(dir);
    // Mean 1.0 x avg: 90% at 0.5, 10% at 5.5, each +-25%.
    const double base = (i % 10 == 0 ? 5.5 : 0.5) * static_cast<double>(avg);
    const auto size =
        static_cast<std::size_t>(base * (0.75 + static_cast<double>(next() % 1000) / 2000.0));
    buf.clear();
    if (i % 2 == 0) {
      while (buf.size() < size) buf += kWords[next() % std::size(kWords)];
      buf.resize(size);
    } else {
      buf.resize(size);
      for (std::size_t k = 0; k + 8 <= size; k += 8) {
        const std::uint64_t r = next();
        std::memcpy(buf.data() + k, &r, 8);
      }
    }
    std::ofstream(dir / ("f" + std::to_string(i) + (i % 2 == 0 ? ".js" : ".bin")), std::ios::binary)
        .write(buf.data(), static_cast<std::streamsize>(buf.size()));
  }
}

// Each measurement starts with no dirty pages: otherwise the writeback of the previous one
// (500 MB) throttles whichever side runs next, which swung unpack times 2x from run to run.
double seconds(const std::function<bool()>& f) {
  ::sync();
  const auto t0 = std::chrono::steady_clock::now();
  if (!f()) std::exit(1);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool sh(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  if (rc != 0) std::fprintf(stderr, "failed (%d): %s\n", rc, cmd.c_str());
  return rc == 0;
}

void fresh(const fs::path& p) {
  fs::remove_all(p);
  fs::create_directories(p);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = argc > 1 ? fs::path(argv[1]) : fs::path();
  const std::uint64_t files = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 50000;
  const std::uint64_t mb = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 500;
  kiln::cache::PackOptions options;
  if (argc > 4) options.threads = std::atoi(argv[4]);
  const int rounds = argc > 5 ? std::atoi(argv[5]) : 2;
  const std::string what = argc > 6 ? argv[6] : "both";
  const bool do_pack = what != "unpack";
  const bool do_unpack = what != "pack";
  if (dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "kiln-cache-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = tmpl;
  }
  dir = fs::absolute(dir);
  fs::create_directories(dir);
  const fs::path tree = dir / "tree";
  const std::string marker = std::to_string(files) + " " + std::to_string(mb);
  std::string found;
  std::getline(std::ifstream(dir / "tree.marker"), found);
  if (found != marker) {
    std::printf("generating %llu files, %llu MB in %s\n", static_cast<unsigned long long>(files),
                static_cast<unsigned long long>(mb), tree.c_str());
    fs::remove_all(tree);
    make_tree(tree, files, mb * 1000 * 1000);
    std::ofstream(dir / "tree.marker") << marker << "\n";
  }
  // Warm the page cache for both contenders.
  sh("tar -cf - -C '" + dir.string() + "' tree | cat > /dev/null");

  const fs::path kiln_archive = dir / "kiln.tar.zst";
  const fs::path tar_archive = dir / "tar.tar.zst";
  kiln::logs::MemorySink log;
  kiln::cache::PackStats packed;
  double kiln_pack = 1e9, tar_pack = 1e9, kiln_unpack = 1e9, tar_unpack = 1e9;
  for (int r = 0; do_pack && r < rounds; ++r) {
    kiln_pack = std::min(kiln_pack, seconds([&] {
                           auto s =
                               kiln::cache::pack_paths({"tree"}, dir, kiln_archive, log, options);
                           if (!s) std::fprintf(stderr, "%s\n", s.error().describe().c_str());
                           if (s) packed = *s;
                           return s.has_value();
                         }));
    tar_pack = std::min(
        tar_pack, seconds([&] {
          return sh("tar --zstd -cf '" + tar_archive.string() + "' -C '" + dir.string() + "' tree");
        }));
  }
  const fs::path outs = dir / "outs";
  fresh(outs);
  sh("sync");
  for (int r = 0; do_unpack && r < rounds; ++r) {
    const fs::path k = outs / ("kiln-" + std::to_string(r));
    const fs::path t = outs / ("tar-" + std::to_string(r));
    fs::create_directories(k);
    fs::create_directories(t);
    fs::create_directories(outs / "scratch");
    kiln_unpack = std::min(kiln_unpack, seconds([&] {
                             auto s = kiln::cache::unpack_into(kiln_archive, k, outs / "scratch");
                             if (!s) std::fprintf(stderr, "%s\n", s.error().describe().c_str());
                             return s.has_value();
                           }));
    tar_unpack = std::min(
        tar_unpack, seconds([&] {
          return sh("tar --zstd -xf '" + tar_archive.string() + "' -C '" + t.string() + "'");
        }));
  }
  std::printf("tree: %llu files, %.1f MB; archives: kiln %.1f MB, tar %.1f MB\n",
              static_cast<unsigned long long>(packed.files),
              static_cast<double>(packed.bytes_in) / 1e6,
              static_cast<double>(fs::file_size(kiln_archive)) / 1e6,
              static_cast<double>(fs::file_size(tar_archive)) / 1e6);
  std::printf("pack:   kiln %.3f s  tar %.3f s  kiln/tar %.2f\n", kiln_pack, tar_pack,
              kiln_pack / tar_pack);
  std::printf("unpack: kiln %.3f s  tar %.3f s  kiln/tar %.2f\n", kiln_unpack, tar_unpack,
              kiln_unpack / tar_unpack);
  fs::remove_all(outs);
  return 0;
}
