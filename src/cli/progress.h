// Progress of a bulk run on stderr: a redrawn bar (done/total, rate, ETA, retries) when stderr is a
// terminal, a plain line every few seconds otherwise, one line per repository with --verbose, nothing with
// --quiet. While requests are being retried the line says why and when ("server unreachable, retry 3 in
// 4s"), redrawn by a ticker so that it never freezes. It never sees a secret.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "client/api_client.h"

namespace rt::cli {

// "server unreachable, retry 3/9 in 4s (connection refused)", "throttled (429), retry 1/9 in 2s".
std::string retry_note(const client::RetryEvent& event);

// The retries of a run by cause, "4 unreachable, 12 throttled, 1 server busy"; "" when there were none.
std::string retry_causes_text(const client::ClientStats& stats);

// For the commands without a progress bar: one line on stderr per retry (unless quiet), so that a single
// request that waits out an outage says so.
class RetryLines final : public client::RetryObserver {
 public:
  RetryLines(client::ClientStats& stats, bool quiet);
  ~RetryLines() override;
  void on_retry(const client::RetryEvent& event) override;

 private:
  client::ClientStats& stats_;
  const bool quiet_;
};

class Progress final : public client::RetryObserver {
 public:
  enum class Style { bar, lines, quiet };
  static Style style_for(bool quiet);  // bar on a terminal, lines otherwise (NO_COLOR has no effect: no colour used)

  // Registers itself as the observer of `stats`' retries until finish() (or destruction).
  Progress(std::string label, std::size_t total, Style style, bool verbose, client::ClientStats& stats);
  ~Progress() override;
  // One repository finished; `note` is a short outcome ("created ci-coverage-x1", "skipped", "failed: ...").
  void item_done(const std::string& repo, const std::string& note);
  void message(const std::string& line);  // a line of its own, above the bar
  void on_retry(const client::RetryEvent& event) override;
  void finish();

 private:
  void draw_locked(bool force);
  std::string status_locked() const;
  void tick();

  std::mutex mu_;
  const std::string label_;
  const std::size_t total_;
  const Style style_;
  const bool verbose_;
  client::ClientStats& stats_;
  std::size_t done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool bar_visible_ = false;
  // The latest retry and when its wait ends; shown while it is recent.
  std::optional<client::RetryEvent> retry_;
  std::chrono::steady_clock::time_point retry_at_, retry_until_;
  bool finished_ = false;
  std::condition_variable wake_;
  std::thread ticker_;  // redraws while nothing finishes (an outage, a long throttle)
};

// Ctrl-C handling for bulk runs: the first SIGINT/SIGTERM asks workers to stop taking new work (so what is
// in flight is finished, journaled and delivered); a second one ends the process at once.
void install_interrupt_handler();
bool interrupted();

}  // namespace rt::cli
