// The events journal: every event the server sends, in DATA/events/ as JSON lines, each
// `{"seq":N,"event":{...}}` with N counting up from 1 across files (docs/events.md). A file is
// begun each UTC day (and at each open) and named `YYYY-MM-DD-<first seq, 12 digits>.jsonl`, so
// names sort in sequence order and a reader from a cursor skips whole files. Pruning is deleting
// old files.
//
// Durability: append() writes one line with O_APPEND and fdatasync()s it before it returns, so
// an event the targets or subscribers were told of survives a crash. A crash mid-write leaves a
// torn last line: readers skip lines that are not whole JSON (or lack their newline), and the
// next append starts on a fresh line.
//
// Thread safety: append() from one thread at a time (the feed's); read_after() and last_seq()
// from any thread, concurrently with append(). Errors name the path.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/thread_annotations.h"
#include "util/unique_fd.h"

namespace kiln::events {

// Creates `dir` and its parents, and makes it 0700 (events and cursors are the server's own).
[[nodiscard]] Result<void> make_private_dir(const std::filesystem::path& dir);

struct Entry {
  std::uint64_t seq = 0;
  std::string text;  // the event's JSON, exactly as delivered and signed
};

class Journal {
 public:
  // Creates `dir` (0700) when missing and finds the last sequence number.
  [[nodiscard]] static Result<std::unique_ptr<Journal>> open(const std::filesystem::path& dir);

  // Appends the event under the next sequence number and returns that number.
  [[nodiscard]] Result<std::uint64_t> append(const nlohmann::json& event,
                                             std::chrono::system_clock::time_point now)
      EXCLUDES(mu_);

  // Up to `max` entries with seq > `after`, in order. Unreadable lines are skipped.
  [[nodiscard]] Result<std::vector<Entry>> read_after(std::uint64_t after, std::size_t max) const;

  std::uint64_t last_seq() const EXCLUDES(mu_);
  const std::filesystem::path& dir() const { return dir_; }

 private:
  explicit Journal(std::filesystem::path dir) : dir_(std::move(dir)) {}
  struct File {
    std::uint64_t first = 0;
    std::filesystem::path path;
  };
  std::vector<File> files() const;  // in sequence order

  std::filesystem::path dir_;
  mutable Mutex mu_;
  std::uint64_t last_ GUARDED_BY(mu_) = 0;
  std::string day_ GUARDED_BY(mu_);  // the open file's day
  UniqueFd fd_ GUARDED_BY(mu_);
};

}  // namespace kiln::events
