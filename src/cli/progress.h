// Progress of a bulk run on stderr: a redrawn bar (done/total, rate, ETA, retries) when stderr is a
// terminal, a plain line every few seconds otherwise, one line per repository with --verbose, nothing with
// --quiet. It never sees a secret.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "client/api_client.h"

namespace rt::cli {

class Progress {
 public:
  enum class Style { bar, lines, quiet };
  static Style style_for(bool quiet);  // bar on a terminal, lines otherwise (NO_COLOR has no effect: no colour used)

  Progress(std::string label, std::size_t total, Style style, bool verbose, const client::ClientStats& stats);
  // One repository finished; `note` is a short outcome ("created ci-coverage-x1", "skipped", "failed: ...").
  void item_done(const std::string& repo, const std::string& note);
  void message(const std::string& line);  // a line of its own, above the bar
  void finish();

 private:
  void draw_locked(bool force);
  std::string status_locked() const;

  std::mutex mu_;
  const std::string label_;
  const std::size_t total_;
  const Style style_;
  const bool verbose_;
  const client::ClientStats& stats_;
  std::size_t done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool bar_visible_ = false;
};

// Ctrl-C handling for bulk runs: the first SIGINT/SIGTERM asks workers to stop taking new work (so what is
// in flight is finished, journaled and delivered); a second one ends the process at once.
void install_interrupt_handler();
bool interrupted();

}  // namespace rt::cli
