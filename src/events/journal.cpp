#include "events/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <ctime>

#include "util/files.h"

namespace kiln::events {
namespace {

namespace fs = std::filesystem;

std::string utc_day(std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// "2026-12-08-000000000042.jsonl" -> 42; 0 for a name of another shape.
std::uint64_t first_seq_of(const std::string& name) {
  constexpr std::size_t kDay = 11;  // "YYYY-MM-DD-"
  if (name.size() != kDay + 12 + 6 || !name.ends_with(".jsonl")) return 0;
  std::uint64_t n = 0;
  const char* from = name.data() + kDay;
  const auto [end, ec] = std::from_chars(from, from + 12, n);
  return ec == std::errc() && end == from + 12 ? n : 0;
}

// Calls `each(seq, text)` for every whole line of `content`, in order; false from it stops.
template <typename F>
void for_each_entry(const std::string& content, F&& each) {
  std::size_t pos = 0;
  while (pos < content.size()) {
    const auto nl = content.find('\n', pos);
    if (nl == std::string::npos) return;  // torn (or being written): not an entry yet
    const std::string_view line(content.data() + pos, nl - pos);
    pos = nl + 1;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    const auto seq = j.find("seq");
    const auto event = j.find("event");
    if (seq == j.end() || !seq->is_number_unsigned() || event == j.end() || !event->is_object())
      continue;
    if (!each(seq->get<std::uint64_t>(), event->dump())) return;
  }
}

Result<void> write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return tl::unexpected(errno_error(ErrorCode::kIo, "write " + path.string()));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

Result<void> make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return tl::unexpected(Error(ErrorCode::kIo, "mkdir " + dir.string() + ": " + ec.message()));
  if (::chmod(dir.c_str(), 0700) != 0)
    return tl::unexpected(errno_error(ErrorCode::kIo, "chmod " + dir.string()));
  return {};
}

Result<std::unique_ptr<Journal>> Journal::open(const fs::path& dir) {
  if (auto made = make_private_dir(dir); !made) return tl::unexpected(made.error());
  std::unique_ptr<Journal> j(new Journal(dir));
  const auto all = j->files();
  std::uint64_t last = 0;
  for (auto it = all.rbegin(); it != all.rend() && last == 0; ++it) {
    auto content = read_file(it->path);
    if (!content) return tl::unexpected(content.error());
    for_each_entry(*content, [&](std::uint64_t seq, const std::string&) {
      last = std::max(last, seq);
      return true;
    });
    // A file begun but whose lines are all torn still numbers from its name.
    if (last == 0 && it->first > 0) last = it->first - 1;
  }
  MutexLock lock(j->mu_);
  j->last_ = last;
  return j;
}

std::vector<Journal::File> Journal::files() const {
  std::vector<File> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::uint64_t first = first_seq_of(e.path().filename().string());
    if (first > 0) out.push_back({first, e.path()});
  }
  std::sort(out.begin(), out.end(), [](const File& a, const File& b) { return a.first < b.first; });
  return out;
}

Result<std::uint64_t> Journal::append(const nlohmann::json& event,
                                      std::chrono::system_clock::time_point now) {
  MutexLock lock(mu_);
  const std::uint64_t seq = last_ + 1;
  const std::string day = utc_day(now);
  if (!fd_ || day != day_) {
    char first[16];
    std::snprintf(first, sizeof first, "%012llu", static_cast<unsigned long long>(seq));
    const fs::path path = dir_ / (day + "-" + first + ".jsonl");
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return tl::unexpected(errno_error(ErrorCode::kIo, "open " + path.string()));
    fd_ = std::move(fd);
    day_ = day;
  }
  const nlohmann::json line{{"seq", seq}, {"event", event}};
  const fs::path shown = dir_ / day_;
  if (auto w = write_all(fd_.get(), line.dump() + "\n", shown); !w) {
    // The file may end in a torn line now: the next append begins a new file.
    fd_.reset();
    return tl::unexpected(w.error());
  }
  last_ = seq;
  // No fdatasync: a line survives the server's crash (it is in the kernel once write returns),
  // as the store's commits do (WAL, synchronous=NORMAL); a machine's crash may lose the last
  // lines, as it may the store's last commits. A sync per event would cap the events, and so
  // the builds a second, at the disk's sync rate (docs/events.md).
  return seq;
}

Result<std::vector<Entry>> Journal::read_after(std::uint64_t after, std::size_t max) const {
  std::vector<Entry> out;
  const auto all = files();
  for (std::size_t i = 0; i < all.size() && out.size() < max; ++i) {
    // Every entry of this file is below the next file's first: skip files wholly read.
    if (i + 1 < all.size() && all[i + 1].first <= after + 1) continue;
    auto content = read_file(all[i].path);
    if (!content) {
      if (content.error().code() == ErrorCode::kNotFound) continue;  // pruned meanwhile
      return tl::unexpected(content.error());
    }
    for_each_entry(*content, [&](std::uint64_t seq, std::string text) {
      if (seq > after && (out.empty() || seq > out.back().seq))
        out.push_back({seq, std::move(text)});
      return out.size() < max;
    });
  }
  return out;
}

std::uint64_t Journal::last_seq() const {
  MutexLock lock(mu_);
  return last_;
}

}  // namespace kiln::events
