// The one retry policy of the client: which outcomes are worth another attempt (429, 503, 504, no response
// at all), and how long to wait before it (the server's Retry-After when given, else exponential backoff
// with full jitter), within a bounded number of attempts; and the observer that is told of each retry and
// counts them by cause, so that a progress line can say why it is waiting.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace rt::client {

// True for the statuses that mean "wait and try again": 429, 503, 504.
bool is_throttle_status(long status);

// Parses a Retry-After value: delta-seconds ("3", "0.5") or an HTTP-date, relative to `now_unix`.
// nullopt when absent or malformed; negative waits become 0; capped at one hour.
std::optional<double> parse_retry_after(std::string_view value, std::int64_t now_unix);

// Why a request is tried again.
enum class RetryCause {
  unreachable,   // no response: connection refused or reset, DNS failure, timeout
  throttled,     // 429
  server_busy,   // 502, 503, 504 (a restarting server, a gateway, or Codacy's throttling without 429)
};
inline constexpr int kRetryCauseCount = 3;

// "unreachable", "throttled", "server busy".
const char* retry_cause_name(RetryCause cause);

struct RetryEvent {
  RetryCause cause = RetryCause::unreachable;
  long status = 0;          // the HTTP status, 0 when there was no response
  int retry = 1;            // the number of this retry (1 = the second attempt)
  int max_retries = 0;      // attempts allowed beyond the first
  double wait_seconds = 0;  // how long the worker waits before it
  std::string detail;       // one line, no secret: "connection refused", "HTTP 503"
};

// Told of each retry on the thread that is about to wait: must be quick and thread-safe.
class RetryObserver {
 public:
  virtual ~RetryObserver() = default;
  virtual void on_retry(const RetryEvent& event) = 0;
};

// The retries of a run counted by cause, and the observer (if any) told of each. Shared by the workers.
class RetryLog {
 public:
  void record(const RetryEvent& event);
  std::uint64_t count(RetryCause cause) const { return counts_[static_cast<int>(cause)].load(); }
  // The observer must outlive its registration; a later one replaces it.
  void set_observer(RetryObserver* observer) { observer_.store(observer); }
  // Unregisters `observer` if it is still the registered one.
  void clear_observer(RetryObserver* observer) { observer_.compare_exchange_strong(observer, nullptr); }

 private:
  std::atomic<std::uint64_t> counts_[kRetryCauseCount]{};
  std::atomic<RetryObserver*> observer_{nullptr};
};

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

  // Is a request that got no response worth another attempt? Never after a TLS failure (a certificate does
  // not fix itself); and not before the run has had any response from the server at all (`reached` false),
  // so that a wrong URL or a server that is down is reported within the connect timeout instead of after
  // a minute of backoff. Once the server has answered, an outage is ridden out within the attempts.
  bool retry_without_response(bool tls_failure, bool reached) const { return !tls_failure && reached; }

 private:
  int max_attempts_;
  double base_;
  double cap_;
};

}  // namespace rt::client
