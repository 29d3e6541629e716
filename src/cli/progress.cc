// Progress rendering (with the retry notes and the ticker that keeps them current) and the interrupt flag.
#include "cli/progress.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "cli/delivery.h"

namespace rt::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_signal(int sig) {
  if (g_interrupted.exchange(true)) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  const char msg[] = "\ninterrupted: finishing what is in flight (press Ctrl-C again to stop at once)\n";
  (void)!::write(2, msg, sizeof msg - 1);
}

// "0.4s" below ten seconds, else whole seconds.
std::string wait_text(double s) {
  char buf[32];
  if (s < 9.95) std::snprintf(buf, sizeof buf, "%.1fs", std::max(0.0, s));
  else std::snprintf(buf, sizeof buf, "%ds", int(s + 0.5));
  return buf;
}

std::string seconds_text(double s) {
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), int(s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(s) % 60);
  else std::snprintf(buf, sizeof buf, "%ds", int(s + 0.5));
  return buf;
}

}  // namespace

std::string retry_note(const client::RetryEvent& e) {
  std::string what;
  switch (e.cause) {
    case client::RetryCause::unreachable: what = "server unreachable"; break;
    case client::RetryCause::throttled: what = "throttled (" + std::to_string(e.status) + ")"; break;
    case client::RetryCause::server_busy: what = "server busy (" + std::to_string(e.status) + ")"; break;
  }
  std::string note = what + ", retry " + std::to_string(e.retry) + "/" + std::to_string(e.max_retries) +
                     (e.wait_seconds > 0 ? " in " + wait_text(e.wait_seconds) : std::string(" now"));
  if (e.cause == client::RetryCause::unreachable && !e.detail.empty()) note += " (" + e.detail + ")";
  return note;
}

std::string retry_causes_text(const client::ClientStats& stats) {
  std::string text;
  for (auto cause : {client::RetryCause::unreachable, client::RetryCause::throttled, client::RetryCause::server_busy}) {
    if (auto n = stats.retry_log.count(cause))
      text += (text.empty() ? "" : ", ") + std::to_string(n) + " " + client::retry_cause_name(cause);
  }
  return text;
}

RetryLines::RetryLines(client::ClientStats& stats, bool quiet) : stats_(stats), quiet_(quiet) {
  stats_.retry_log.set_observer(this);
}

RetryLines::~RetryLines() { stats_.retry_log.clear_observer(this); }

void RetryLines::on_retry(const client::RetryEvent& event) {
  if (!quiet_) std::fprintf(stderr, "%s\n", retry_note(event).c_str());
}

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

Progress::Style Progress::style_for(bool quiet) {
  if (quiet) return Style::quiet;
  return is_terminal(2) ? Style::bar : Style::lines;
}

Progress::Progress(std::string label, std::size_t total, Style style, bool verbose, client::ClientStats& stats)
    : label_(std::move(label)), total_(total), style_(style), verbose_(verbose), stats_(stats),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {
  stats_.retry_log.set_observer(this);
  if (style_ != Style::quiet) ticker_ = std::thread([this] { tick(); });
}

Progress::~Progress() {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  stats_.retry_log.clear_observer(this);
}

void Progress::tick() {
  std::unique_lock lock(mu_);
  const auto period = style_ == Style::bar ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(2000);
  while (!finished_) {
    wake_.wait_for(lock, period, [this] { return finished_; });
    if (!finished_) draw_locked(false);
  }
}

void Progress::on_retry(const client::RetryEvent& event) {
  std::lock_guard lock(mu_);
  retry_ = event;
  retry_at_ = std::chrono::steady_clock::now();
  retry_until_ = retry_at_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(event.wait_seconds));
  draw_locked(false);
}

std::string Progress::status_locked() const {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? done_ / elapsed : 0;
  std::string s = std::to_string(done_) + "/" + std::to_string(total_);
  char buf[96];
  std::snprintf(buf, sizeof buf, "  %.1f/s", rate);
  s += buf;
  if (rate > 0 && done_ < total_) s += "  ETA " + seconds_text((total_ - done_) / rate);
  s += "  retries " + std::to_string(stats_.retries.load());
  // The latest retry while it is current: its wait counts down, and it stays two seconds after.
  const auto now = std::chrono::steady_clock::now();
  if (retry_ && now < retry_until_ + std::chrono::seconds(2)) {
    client::RetryEvent shown = *retry_;
    shown.wait_seconds = std::chrono::duration<double>(retry_until_ - now).count();
    s += "  (" + retry_note(shown) + ")";
  }
  return s;
}

void Progress::draw_locked(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (style_ == Style::bar) {
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    constexpr int kWidth = 30;
    int filled = total_ ? static_cast<int>(kWidth * done_ / total_) : kWidth;
    std::string bar(filled, '#');
    bar += std::string(kWidth - filled, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %s", label_.c_str(), bar.c_str(), status_locked().c_str());
    std::fflush(stderr);
    bar_visible_ = true;
  } else if (style_ == Style::lines) {
    if (!force && now - last_draw_ < std::chrono::seconds(2)) return;
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), status_locked().c_str());
  }
  last_draw_ = now;
}

void Progress::message(const std::string& line) {
  std::lock_guard lock(mu_);
  if (style_ == Style::quiet) return;
  if (bar_visible_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "%s\n", line.c_str());
  if (bar_visible_) draw_locked(true);
}

void Progress::item_done(const std::string& repo, const std::string& note) {
  std::lock_guard lock(mu_);
  ++done_;
  if (verbose_ && style_ != Style::quiet) {
    if (bar_visible_) std::fputs("\r\033[K", stderr);
    std::fprintf(stderr, "%s: %s\n", repo.c_str(), note.c_str());
  }
  draw_locked(done_ == total_);
}

void Progress::finish() {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  stats_.retry_log.clear_observer(this);
  std::lock_guard lock(mu_);
  if (style_ == Style::quiet) return;
  if (style_ == Style::bar) {
    draw_locked(true);
    std::fputs("\n", stderr);
    bar_visible_ = false;
  } else if (done_ > 0 && done_ < total_) {  // a complete run's last line was drawn by item_done
    draw_locked(true);
  }
}

}  // namespace rt::cli
