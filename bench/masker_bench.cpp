// Throughput of the streaming secret masker (docs/secrets.md) against memcpy of the same data.
//
//   masker_bench [MIB] [SEED]      (defaults: 256 MiB, seed 1)
//
// The log path budget (bench/RESULTS.md) is the run log throughput with 50 secrets at >= 0.8x
// the unmasked one. The log path runs at ~550 MB/s, so the masker has to scan at several GB/s
// for its share to be small. Each row masks the whole data set in 128 KiB chunks, as
// MaskingSink::output gets them from the executor, into one reused buffer, and times a memcpy
// of the same chunks into a reused buffer in the same run. Best of three runs each.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "secrets/masker.h"

namespace {

constexpr std::size_t kChunk = 128 * 1024;
constexpr int kRuns = 3;

using Clock = std::chrono::steady_clock;

std::string lines_of_x(std::size_t size) {
  const std::string line = std::string(99, 'x') + "\n";
  std::string s;
  s.reserve(size + line.size());
  while (s.size() < size) s += line;
  s.resize(size);
  return s;
}

// Build-log-like text: timestamps, levels, words, paths, hex ids, numbers, some uppercase.
std::string varied_text(std::size_t size, std::mt19937& rng) {
  static const char* const kWords[] = {"Downloading",
                                       "from",
                                       "https://repo.maven.apache.org/maven2/org/",
                                       "Compiling",
                                       "src/main",
                                       "warning:",
                                       "unused",
                                       "variable",
                                       "INFO",
                                       "DEBUG",
                                       "ERROR",
                                       "GET",
                                       "HTTP/1.1",
                                       "200",
                                       "OK",
                                       "npm",
                                       "install",
                                       "added",
                                       "packages",
                                       "in",
                                       "the",
                                       "build",
                                       "test",
                                       "passed",
                                       "failed",
                                       "[Container]",
                                       "Running",
                                       "command",
                                       "echo",
                                       "Phase",
                                       "complete:",
                                       "BUILD",
                                       "State:",
                                       "SUCCEEDED",
                                       "/usr/lib/x86_64-linux-gnu",
                                       "libssl.so.3",
                                       "->",
                                       "=",
                                       "{",
                                       "}",
                                       "at",
                                       "com.example.Service.run(Service.java:42)",
                                       "Step",
                                       "RUN",
                                       "apt-get",
                                       "update",
                                       "done."};
  const std::size_t nwords = sizeof(kWords) / sizeof(kWords[0]);
  std::uniform_int_distribution<std::size_t> word(0, nwords - 1);
  std::uniform_int_distribution<int> count(3, 14);
  std::uniform_int_distribution<unsigned> num(0, 0xffffff);
  std::string block;
  const std::size_t block_size = std::min<std::size_t>(size, 4U << 20);
  char buf[64];
  while (block.size() < block_size) {
    std::snprintf(buf, sizeof(buf), "2024-06-%02u 12:%02u:%02u.%06u ", num(rng) % 28 + 1,
                  num(rng) % 60, num(rng) % 60, num(rng) % 1000000);
    block += buf;
    for (int i = count(rng); i > 0; --i) {
      if (num(rng) % 8 == 0) {
        std::snprintf(buf, sizeof(buf), "%x%06x ", num(rng), num(rng));
        block += buf;
      } else {
        block += kWords[word(rng)];
        block += ' ';
      }
    }
    block.back() = '\n';
  }
  std::string s;
  s.reserve(size + block.size());
  while (s.size() < size) s += block;
  s.resize(size);
  return s;
}

std::vector<std::string> random_secrets(std::size_t n, std::mt19937& rng) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::uniform_int_distribution<std::size_t> len(16, 40);
  std::uniform_int_distribution<std::size_t> ch(0, sizeof(kAlphabet) - 2);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string s;
    for (std::size_t j = len(rng); j > 0; --j) s += kAlphabet[ch(rng)];
    out.push_back(s);
  }
  return out;
}

double mb_per_s(std::size_t bytes, Clock::duration took) {
  return static_cast<double>(bytes) / 1e6 / std::chrono::duration<double>(took).count();
}

// Returns {masker MB/s, memcpy MB/s, bytes written by the masker in the last run}.
struct Row {
  double masker;
  double memcpy;
  std::size_t out_bytes;
};

Row measure(const std::string& data, const std::vector<std::string>& secrets) {
  kiln::secrets::Masker masker;
  for (const auto& s : secrets) {
    if (!masker.add(s)) std::abort();
  }
  Row row{0, 0, 0};
  std::string out;
  out.reserve(kChunk + masker.max_match_length());
  std::vector<char> copy(kChunk);
  for (int run = 0; run < kRuns; ++run) {
    const auto t0 = Clock::now();
    std::size_t written = 0;
    for (std::size_t at = 0; at < data.size(); at += kChunk) {
      out.clear();
      masker.feed(std::string_view(data).substr(at, kChunk), out);
      written += out.size();
    }
    written += masker.finish().size();
    const auto t1 = Clock::now();
    std::size_t checksum = 0;
    for (std::size_t at = 0; at < data.size(); at += kChunk) {
      const std::size_t n = std::min(kChunk, data.size() - at);
      std::memcpy(copy.data(), data.data() + at, n);
      checksum += static_cast<unsigned char>(copy[n / 2]);
    }
    const auto t2 = Clock::now();
    if (checksum == 1) std::puts("");  // keep the copy observable
    row.masker = std::max(row.masker, mb_per_s(data.size(), t1 - t0));
    row.memcpy = std::max(row.memcpy, mb_per_s(data.size(), t2 - t1));
    row.out_bytes = written;
  }
  return row;
}

void print(const char* data_name, const char* secrets_name, const std::string& data, const Row& r) {
  std::printf("| %-24s | %-18s | %11.0f | %11.0f | %5.2f | %12zu |\n", data_name, secrets_name,
              r.masker, r.memcpy, r.masker / r.memcpy, data.size() - r.out_bytes);
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const unsigned seed = argc > 2 ? static_cast<unsigned>(std::strtoul(argv[2], nullptr, 10)) : 1;
  const std::size_t size = mib << 20;
  std::mt19937 rng(seed);
  const std::vector<std::string> none;
  const std::vector<std::string> fifty = random_secrets(50, rng);

  const std::string lines = lines_of_x(size);
  const std::string varied = varied_text(size, rng);
  // Varied text with one of the secrets (or a key id) every ~4 KiB: the verify path at work.
  std::string planted = varied;
  for (std::size_t at = 1000, i = 0; at + 64 < planted.size(); at += 4096, ++i) {
    const std::string& s = i % 10 == 9 ? std::string("AKIAIOSFODNN7EXAMPLE") : fifty[i % 50];
    planted.replace(at, s.size(), s);
  }

  std::printf("masker_bench: %zu MiB per data set, %zu KiB chunks, best of %d, seed %u\n\n", mib,
              kChunk / 1024, kRuns, seed);
  std::printf("| %-24s | %-18s | %11s | %11s | %5s | %12s |\n", "data", "secrets", "masker MB/s",
              "memcpy MB/s", "ratio", "bytes masked");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(26, '-').c_str(), std::string(20, '-').c_str(),
              std::string(13, '-').c_str(), std::string(13, '-').c_str(),
              std::string(7, '-').c_str(), std::string(14, '-').c_str());
  print("'x'*99+'\\n' lines", "none", lines, measure(lines, none));
  print("'x'*99+'\\n' lines", "50 random, 16-40 B", lines, measure(lines, fifty));
  print("varied log text", "none", varied, measure(varied, none));
  print("varied log text", "50 random, 16-40 B", varied, measure(varied, fifty));
  print("varied, secret per 4KiB", "50 random, 16-40 B", planted, measure(planted, fifty));
  std::printf("\n'bytes masked': input bytes minus output bytes (each match becomes \"***\").\n");
  return 0;
}
