// Proactive request pacing shared by all the workers of a bulk run. It learns the server's limit from the
// IETF headers (`RateLimit-Policy: "name";q=N;w=S`, `RateLimit: "name";r=R;t=T`), keeps a client-side GCRA
// just under it (spending the burst the server says is left, minus what may be in flight), applies the
// operator's `--rate` ceiling, pauses everyone after a refusal, and, against servers that send no headers
// (Codacy Cloud's 503s), slows down multiplicatively on refusals and speeds up additively on successes.
#pragma once

#include <deque>
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

  // Reserves the next send slot and returns the time (steady seconds) at which the caller may send.
  double reserve(double now);
  // A response arrived; learn from its RateLimit headers (no-op when absent).
  void observe(double now, std::string_view policy_header, std::string_view ratelimit_header);
  // The server refused with 429/503/504; nobody sends again before now + wait. `described` = the refusal
  // carried RateLimit headers (then observe() already knows the limit and no guessing is needed).
  void on_throttled(double now, double wait, bool described);
  void on_success();

  // The send rate currently aimed at (requests/s), 0 when unpaced.
  double target_rate() const;

 private:
  double interval_locked() const;
  double tolerance_locked(double interval) const;

  mutable std::mutex mu_;
  const double user_interval_;
  const double margin_;
  double server_interval_ = 0;   // from RateLimit-Policy, aiming at 97% of the server's rate
  double server_burst_ = 0;
  double adaptive_interval_ = 0; // learned from refusals without headers
  double last_decrease_ = -1e9;
  double tat_ = 0;               // theoretical arrival time of the client-side GCRA
  double pause_until_ = 0;
  bool synced_ = false;
  std::deque<double> recent_sends_;
};

}  // namespace rt::client
