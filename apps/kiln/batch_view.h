// What `kiln run --batch` shows while its builds run (docs/batch.md "kiln run --batch"):
// - on a terminal, a status block with one line per build (identifier, state, elapsed time,
//   current phase), redrawn in place with ANSI escapes by the driver's loop; the builds' own
//   output goes only to their log files;
// - otherwise each build's log lines as they come, each prefixed with `[identifier] `, whole
//   lines only, so builds running at once never mix inside a line.
// Then the final table (print_batch_table).
//
// Thread safety: sink(), started(), phase() and ended() may be called from any thread (the
// members' threads); redraw() and message() from the driver's thread only.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "batch/record.h"
#include "engine/record.h"
#include "logs/log_sink.h"
#include "run_options.h"
#include "util/thread_annotations.h"

namespace kiln::app {

class BatchView {
 public:
  // `live`: stdout is a terminal.
  BatchView(bool live, SummaryStyle style);
  ~BatchView();
  BatchView(const BatchView&) = delete;
  BatchView& operator=(const BatchView&) = delete;

  bool live() const { return live_; }
  // The member's output for stdout: prefixed whole lines, or nothing when live. Owned by the
  // caller, used from the member's thread; finish() writes a last unterminated line.
  class MemberSink;
  std::unique_ptr<MemberSink> sink(const std::string& identifier);

  // The builds as the batch knows them, in plan order (PENDING until started).
  void set_members(const std::vector<std::string>& identifiers) EXCLUDES(mu_);
  void started(const std::string& identifier, double now) EXCLUDES(mu_);
  void phase(const std::string& identifier, engine::PhaseType phase) EXCLUDES(mu_);
  void ended(const std::string& identifier, const std::string& status, double now) EXCLUDES(mu_);
  // Never started, with why.
  void not_started(const std::string& identifier) EXCLUDES(mu_);

  // Live: draws the block over the previous one. Not live: nothing.
  void redraw(double now) EXCLUDES(mu_);
  // A line of the driver's own (on stdout, above the block when live).
  void message(const std::string& line) EXCLUDES(mu_);
  // Live: the last redraw; the cursor is left below the block.
  void close(double now) EXCLUDES(mu_);

  // Writes whole lines to stdout (one write per call, under the lock).
  void write(const std::string& text) EXCLUDES(mu_);

 private:
  struct Entry {
    std::string identifier;
    std::string state = "PENDING";
    double start = 0;
    double end = 0;
    std::string phase;
  };
  Entry* find(const std::string& identifier) REQUIRES(mu_);
  std::string block(double now) REQUIRES(mu_);

  const bool live_;
  const SummaryStyle style_;
  Mutex mu_;
  std::vector<Entry> entries_ GUARDED_BY(mu_);
  int drawn_ GUARDED_BY(mu_) = 0;  // lines of the block on screen
};

class BatchView::MemberSink final : public logs::LogSink {
 public:
  MemberSink(BatchView& view, std::string identifier)
      : view_(view), prefix_("[" + std::move(identifier) + "] ") {}
  void agent_line(std::string_view line) override;
  void output(std::string_view chunk) override;
  void finish();

 private:
  BatchView& view_;
  std::string prefix_;
  std::string partial_;  // output after the last newline
};

// The table that ends `kiln run --batch`: each build group with its status, duration and
// failing phase (with its context), or why it never started; then the batch's status. `records`
// are the member builds' records by group identifier.
void print_batch_table(const batch::BatchRecord& batch,
                       const std::map<std::string, engine::BuildRecord>& records,
                       SummaryStyle style);

}  // namespace kiln::app
