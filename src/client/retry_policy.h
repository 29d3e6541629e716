// The one retry policy of the client: which outcomes are worth another attempt (429, 503, 504, no response
// at all), and how long to wait before it (the server's Retry-After when given, else exponential backoff
// with full jitter), within a bounded number of attempts.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace rt::client {

// True for the statuses that mean "wait and try again": 429, 503, 504.
bool is_throttle_status(long status);

// Parses a Retry-After value: delta-seconds ("3", "0.5") or an HTTP-date, relative to `now_unix`.
// nullopt when absent or malformed; negative waits become 0; capped at one hour.
std::optional<double> parse_retry_after(std::string_view value, std::int64_t now_unix);

class RetryPolicy {
 public:
  RetryPolicy(int max_attempts, double base_seconds = 0.2, double cap_seconds = 15.0)
      : max_attempts_(max_attempts), base_(base_seconds), cap_(cap_seconds) {}

  // May attempt number `attempt` (1-based; the first try is 1) be followed by another?
  bool may_retry(int attempt) const { return attempt < max_attempts_; }

  // Seconds to wait after failed attempt number `attempt`: `retry_after` when the server gave one, else a
  // uniformly random time in [0, min(cap, base * 2^(attempt-1))] ("full jitter", so that many workers
  // refused at once do not come back at once).
  double delay(int attempt, std::optional<double> retry_after, std::mt19937_64& random) const;

  int max_attempts() const { return max_attempts_; }

 private:
  int max_attempts_;
  double base_;
  double cap_;
};

}  // namespace rt::client
