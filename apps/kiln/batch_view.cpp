#include "batch_view.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "util/escape.h"

namespace kiln::app {

namespace {

const char* color_of(const std::string& status) {
  if (status == "SUCCEEDED") return "\033[32m";
  if (status == "IN_PROGRESS") return "\033[33m";
  if (status == "PENDING") return "\033[2m";
  return "\033[31m";
}

std::string format(const char* fmt, auto... args) {
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, fmt, args...);
  return std::string(buf, static_cast<std::size_t>(std::clamp(n, 0, int{sizeof buf} - 1)));
}

int terminal_rows() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return ws.ws_row;
  return 24;
}

// When the block is taller than the terminal: running builds first, then ended ones that did
// not succeed, then the rest, each in plan order (what a short terminal can show is what
// matters most). Otherwise plan order.
int rank(const std::string& state) {
  if (state == "IN_PROGRESS") return 0;
  if (state == "PENDING") return 3;
  if (state == "SUCCEEDED") return 2;
  return 1;
}

}  // namespace

BatchView::BatchView(bool live, SummaryStyle style) : live_(live), style_(style) {}
BatchView::~BatchView() = default;

std::unique_ptr<BatchView::MemberSink> BatchView::sink(const std::string& identifier) {
  return std::make_unique<MemberSink>(*this, identifier);
}

BatchView::Entry* BatchView::find(const std::string& identifier) {
  for (auto& e : entries_)
    if (e.identifier == identifier) return &e;
  entries_.push_back(Entry{identifier});
  return &entries_.back();
}

void BatchView::set_members(const std::vector<std::string>& identifiers) {
  MutexLock lock(mu_);
  for (const auto& id : identifiers) find(id);
}

void BatchView::started(const std::string& identifier, double now) {
  MutexLock lock(mu_);
  Entry* e = find(identifier);
  e->state = "IN_PROGRESS";
  e->start = now;
  e->phase = "SUBMITTED";
}

void BatchView::phase(const std::string& identifier, engine::PhaseType phase) {
  MutexLock lock(mu_);
  find(identifier)->phase = engine::to_string(phase);
}

void BatchView::ended(const std::string& identifier, const std::string& status, double now) {
  std::string line;
  {
    MutexLock lock(mu_);
    Entry* e = find(identifier);
    e->state = status;
    e->end = now;
    if (!live_)
      line = format("[%s] %s in %.3fs\n", identifier.c_str(), status.c_str(), now - e->start);
  }
  if (!line.empty()) write(line);
}

void BatchView::not_started(const std::string& identifier) {
  MutexLock lock(mu_);
  find(identifier)->state = "NOT_STARTED";
}

std::string BatchView::block(double now) {
  std::vector<const Entry*> shown;
  for (const auto& e : entries_) shown.push_back(&e);
  const std::size_t room = static_cast<std::size_t>(std::max(2, terminal_rows() - 2));
  std::size_t hidden = 0;
  if (shown.size() > room) {
    std::stable_sort(shown.begin(), shown.end(), [](const Entry* a, const Entry* b) {
      return rank(a->state) < rank(b->state);
    });
    hidden = shown.size() - (room - 1);
    shown.resize(room - 1);
  }
  std::size_t width = 10;
  for (const Entry* e : shown) width = std::max(width, e->identifier.size());
  width = std::min<std::size_t>(width, 40);
  const char* reset = style_.color ? "\033[0m" : "";
  std::string out;
  for (const Entry* e : shown) {
    const double elapsed = e->start == 0 ? 0 : (e->end != 0 ? e->end : now) - e->start;
    const std::string id = escape_control(e->identifier).substr(0, width);
    out += "\r\033[2K";
    out += format("%-*s %s%-12s%s %8.1fs  %s\n", static_cast<int>(width), id.c_str(),
                  style_.color ? color_of(e->state) : "", e->state.c_str(), reset, elapsed,
                  e->state == "IN_PROGRESS" ? e->phase.c_str() : "");
  }
  if (hidden != 0) {
    std::size_t pending = 0;
    std::size_t succeeded = 0;
    for (const auto& e : entries_) {
      pending += e.state == "PENDING" ? 1 : 0;
      succeeded += e.state == "SUCCEEDED" ? 1 : 0;
    }
    out += "\r\033[2K" +
           format("... %zu more (%zu succeeded, %zu pending in all)\n", hidden, succeeded, pending);
  }
  drawn_ = static_cast<int>(shown.size()) + (hidden != 0 ? 1 : 0);
  return out;
}

void BatchView::redraw(double now) {
  if (!live_) return;
  MutexLock lock(mu_);
  std::string out = drawn_ > 0 ? format("\033[%dA", drawn_) : std::string();
  out += block(now);
  logs::write_all(STDOUT_FILENO, out);
}

void BatchView::message(const std::string& line) {
  MutexLock lock(mu_);
  std::string out;
  if (live_ && drawn_ > 0) {
    // Clear the block; the next redraw draws it again below the message.
    out = format("\033[%dA\r\033[J", drawn_);
    drawn_ = 0;
  }
  out += line + "\n";
  logs::write_all(STDOUT_FILENO, out);
}

void BatchView::close(double now) {
  redraw(now);
  MutexLock lock(mu_);
  drawn_ = 0;
}

void BatchView::write(const std::string& text) {
  MutexLock lock(mu_);
  logs::write_all(STDOUT_FILENO, text);
}

void BatchView::MemberSink::agent_line(std::string_view line) {
  if (view_.live()) return;
  std::string out;
  if (!partial_.empty()) out = prefix_ + std::exchange(partial_, {}) + "\n";
  out += prefix_;
  out += line;
  out += '\n';
  view_.write(out);
}

void BatchView::MemberSink::output(std::string_view chunk) {
  if (view_.live()) return;
  std::string out;
  std::size_t from = 0;
  for (std::size_t nl = chunk.find('\n'); nl != std::string_view::npos;
       nl = chunk.find('\n', from)) {
    out += prefix_;
    out += std::exchange(partial_, {});
    out.append(chunk.substr(from, nl + 1 - from));
    from = nl + 1;
  }
  partial_.append(chunk.substr(from));
  if (!out.empty()) view_.write(out);
}

void BatchView::MemberSink::finish() {
  if (!partial_.empty() && !view_.live()) view_.write(prefix_ + std::exchange(partial_, {}) + "\n");
}

namespace {

// The first phase that did not succeed, with its context.
std::string failing_phase(const engine::BuildRecord& r) {
  for (const auto& p : r.phases) {
    if (!p.status || *p.status == engine::Status::kSucceeded ||
        p.type == engine::PhaseType::kCompleted)
      continue;
    std::string s = engine::to_string(p.type);
    for (const auto& c : p.contexts) {
      if (c.status_code.empty() && c.message.empty()) continue;
      s += " (" + c.status_code + (c.message.empty() ? "" : ": " + c.message) + ")";
      break;
    }
    return escape_control(s);
  }
  return "";
}

}  // namespace

void print_batch_table(const batch::BatchRecord& b,
                       const std::map<std::string, engine::BuildRecord>& records,
                       SummaryStyle style) {
  const char* reset = style.color ? "\033[0m" : "";
  std::size_t width = 10;
  for (const auto& g : b.groups) width = std::max(width, g.identifier.size());
  const int w = static_cast<int>(std::min<std::size_t>(width, 40));
  std::printf("\n%-*s %-12s %10s  %s\n", w, "BUILD", "STATUS", "DURATION", "FAILING PHASE");
  for (const auto& g : b.groups) {
    const std::string id = escape_control(g.identifier);
    const auto it = records.find(g.identifier);
    if (it == records.end()) {
      const std::string state = g.current ? g.current->build_status : "NOT_STARTED";
      std::printf("%-*s %s%-12s%s %10s  %s\n", w, id.c_str(), style.color ? color_of(state) : "",
                  state.c_str(), reset, "-", escape_control(g.not_started).c_str());
      continue;
    }
    const engine::BuildRecord& r = it->second;
    const std::string status = engine::to_string(r.build_status);
    const double secs = r.end_time ? *r.end_time - r.start_time : 0.0;
    std::printf("%-*s %s%-12s%s %9.3fs  %s\n", w, id.c_str(), style.color ? color_of(status) : "",
                status.c_str(), reset, secs, failing_phase(r).c_str());
  }
  const double total = b.end_time ? *b.end_time - b.start_time : 0.0;
  std::printf("\nBatch %s %s%s%s in %.3fs\n", b.id.c_str(), style.color ? color_of(b.status) : "",
              b.status.c_str(), reset, total);
  for (const auto& p : b.phases) {
    for (const auto& c : p.contexts) {
      if (c.message.empty() && c.status_code.empty()) continue;
      std::printf("  %s: %s%s%s\n", batch::phase_name(p.type),
                  escape_control(c.status_code).c_str(), c.message.empty() ? "" : ": ",
                  escape_control(c.message).c_str());
    }
  }
  std::fflush(stdout);
}

}  // namespace kiln::app
