// Proactive request pacing shared by all the workers of a bulk run. It learns the server's limit from the
// IETF headers (`RateLimit-Policy: "name";q=N;w=S`, `RateLimit: "name";r=R;t=T`), keeps a client-side GCRA
// just under it (spending the burst the server says is left, minus what may be in flight), applies the
// operator's `--rate` ceiling, pauses everyone after a refusal, and, against servers that send no headers
// (Codacy Cloud: 2,500 requests per 5 minutes, refused with 503/504 and nothing else), fits a sliding
// window to the refusals it sees: the quota is what got through before the first refusal, the window's
// length is bracketed by single probe requests (one refusal each) and then narrowed by one trial per
// window, so that a long job runs at the window's pace with a handful of refusals in all.
#pragma once

#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>

namespace rt::client {

// One policy from the headers: `quota` requests per `window` seconds; `remaining` / `reset` when given.
struct RateLimitInfo {
  double quota = 0;
  double window = 0;
  std::optional<double> remaining;
  double reset = 0;
  double rate() const { return window > 0 ? quota / window : 0; }
};

// Parses the two header values (either may be empty) and returns the most restrictive policy, or nullopt
// when neither carries a usable policy or remaining count.
std::optional<RateLimitInfo> parse_rate_limit(std::string_view policy_header, std::string_view ratelimit_header);

// Seconds on the steady clock (the time base of every Pacer call).
double steady_seconds();

class Pacer {
 public:
  // `ceiling_per_second` 0 means no operator ceiling. `concurrency` sizes the in-flight safety margin.
  Pacer(double ceiling_per_second, int concurrency);

  // Reserves the next send slot and returns the time (steady seconds) at which the caller may send
  // (a schedule: the caller sleeps until then). While the window of a silent server is being probed the
  // schedule is not known in advance; callers that may block use acquire().
  double reserve(double now);
  // Asks to send now: nullopt means "send" (and the send is recorded at `now`); otherwise the time at which
  // to ask again (sleep until then, or less).
  std::optional<double> acquire(double now);
  // A response arrived; learn from its RateLimit headers (no-op when absent).
  void observe(double now, std::string_view policy_header, std::string_view ratelimit_header);
  // The server refused with 429/503/504; nobody sends again before now + wait. `described` = the refusal
  // carried RateLimit headers (then observe() already knows the limit and no guessing is needed).
  // `sent_at` is the time acquire()/reserve() gave that request (negative: unknown).
  void on_throttled(double now, double wait, bool described, double sent_at = -1);
  // The request sent at `sent_at` was answered without a refusal.
  void on_success(double sent_at = -1);
  // The request sent at `sent_at` got no usable answer (connection lost, 502); it may have counted.
  void on_lost(double sent_at);

  // The send rate currently aimed at (requests/s), 0 when unpaced (a fitted window is not a rate: 0).
  double target_rate() const;
  // The fitted window of a server without headers: quota and length in seconds (the upper bound in use;
  // infinite while still being probed), when a refusal has been seen.
  struct Window {
    double quota = 0;
    double seconds = 0;
  };
  std::optional<Window> fitted_window() const;

 private:
  static constexpr double kUnknown = std::numeric_limits<double>::infinity();
  double interval_locked() const;
  double tolerance_locked(double interval) const;
  double earliest_locked(double now);
  void record_send_locked(double at);
  void forget_send_locked(double at);
  std::size_t sends_since_locked(double from) const;  // sends at times > from

  mutable std::mutex mu_;
  const double user_interval_;
  const double margin_;
  double server_interval_ = 0;   // from RateLimit-Policy, aiming at 97% of the server's rate
  double server_burst_ = 0;
  double tat_ = 0;               // theoretical arrival time of the client-side GCRA
  double pause_until_ = 0;
  bool synced_ = false;

  // The sliding window fitted to a silent server: `quota_` requests per window of length in (lo_, hi_].
  std::deque<double> sends_;     // times of the sends not refused (answered or in flight), ascending
  double quota_ = 0;             // 0: no refusal seen yet
  double lo_ = 0, hi_ = kUnknown;
  double first_refused_at_ = 0;  // send time of the request whose refusal started the fit
  double fit_started_ = 0;       // when that refusal arrived
  double trial_ref_ = -1;        // set by earliest_locked(): the slot found is a trial against this send
  bool trial_in_flight_ = false; // one request sent early to learn where the window ends
  double trial_sent_ = 0, trial_length_ = 0;
};

}  // namespace rt::client
