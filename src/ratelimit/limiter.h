// Rate limiting: the Limiter interface, and the rule and decision types that the service turns into 429
// responses and RateLimit headers. The in-process implementation is GCRA (gcra.h); a Redis one shares
// limits between nodes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rt {

// `rate_per_second` requests per second on average, up to `burst` at once. A rate of 0 turns it off.
struct RateLimitRule {
  std::string name;  // the policy's name in RateLimit-Policy, e.g. "per-token"
  double rate_per_second = 0;
  int burst = 1;
  bool enabled() const { return rate_per_second > 0; }
  // The window of the IETF header form: `burst` requests per `window_seconds`.
  double window_seconds() const { return burst / rate_per_second; }
};

struct RateLimitDecision {
  bool allowed = true;
  std::int64_t remaining = 0;   // requests that could be made at once right now
  double retry_after = 0;       // seconds until the next request is allowed (0 when allowed)
  double reset_after = 0;       // seconds until the full burst is available again
  // Refused because the shared limit store (Redis) is unreachable and the limiter is configured to fail
  // closed: the caller should answer 503 (unavailable), not 429. Never set together with `allowed`.
  bool unavailable = false;
};

class Limiter {
 public:
  virtual ~Limiter() = default;
  // Counts one request against `key` under `rule` and says whether it may proceed. Thread-safe.
  virtual RateLimitDecision check(std::string_view key, const RateLimitRule& rule) = 0;
  // True when check() may wait on the network (a shared limiter): then it must not run on an event loop.
  virtual bool blocking() const { return false; }
};

}  // namespace rt
