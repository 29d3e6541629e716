// The exact shared limiter: the same GCRA as GcraLimiter, kept in Redis so that every repotokensd node
// charges one budget per key. One atomic Lua script per decision (a network round trip on the caller's
// thread: the server runs on SharedLimiter, shared_limiter.h, which takes none; this one is the exact
// reference its tests and benchmarks compare with), with Redis's own clock (nodes with skewed
// clocks agree), and keys that expire once idle. When Redis cannot be reached the limiter either keeps
// serving with an embedded per-node GcraLimiter (fail-open, the default) or refuses (fail-closed), and
// probes Redis again with backoff so that requests never queue behind a dead server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ratelimit/gcra.h"
#include "ratelimit/limiter.h"
#include "ratelimit/redis_link.h"

struct redisContext;

namespace rt {

struct RedisLimiterOptions {
  bool fail_open = true;                                   // false: refuse (decision.unavailable) during an outage
  std::chrono::milliseconds connect_timeout{100};
  std::chrono::milliseconds command_timeout{100};
  std::chrono::milliseconds min_backoff{50};               // first re-probe after an outage starts
  std::chrono::milliseconds max_backoff{1000};             // backoff doubles up to this
  int max_connections = 16;                                // hiredis contexts kept for concurrent callers
  std::string key_prefix = "repotokens:rl:";
  // Where outage/recovery lines go (once per outage each); default: one line on stderr.
  std::function<void(std::string_view)> log;
};

class RedisLimiter final : public Limiter {
 public:
  // Parses the URL; does not need Redis to be up (a node starts fail-open and finds Redis later).
  // `invalid` with a message naming the expected form when the URL is malformed.
  static Result<std::unique_ptr<RedisLimiter>> create(std::string_view url, RedisLimiterOptions options = {});
  ~RedisLimiter() override;

  // Thread-safe. Metrics (present from construction, so /metrics shows them at 0):
  // repotokens_ratelimit_redis_failures_total (failed Redis calls), repotokens_ratelimit_redis_outages_total
  // (outages begun) and the gauge repotokens_ratelimit_redis_down (1 during an outage).
  RateLimitDecision check(std::string_view key, const RateLimitRule& rule) override;
  // Every decision may wait on the network (up to the connect and command timeouts).
  bool blocking() const override { return true; }

  // "redis://HOST:PORT/DB", without the password: for start-up and outage log lines.
  std::string describe() const;

  // False from the first failed call until Redis answers again.
  bool redis_reachable() const { return !outage_.down(); }

 private:
  RedisLimiter(RedisEndpoint endpoint, RedisLimiterOptions options);
  Result<redisContext*> connection();        // an idle context, or a new one
  void give_back(redisContext* c, bool healthy);
  std::string sha_for(redisContext* c);  // the script's SHA1, loaded through `c` the first time
  std::optional<RateLimitDecision> ask_redis(std::string_view key, const RateLimitRule& rule, std::string* why);
  RateLimitDecision fallback(std::string_view key, const RateLimitRule& rule);
  void on_failure(const std::string& why);
  void on_success();

  RedisEndpoint endpoint_;
  RedisLimiterOptions options_;
  redis::Outage outage_;
  GcraLimiter local_;  // the per-node limits used while Redis is unreachable (fail-open)
  std::mutex mu_;
  std::vector<redisContext*> idle_;
  std::string sha_;
  std::atomic<std::int64_t> next_probe_ns_{0};  // during an outage: when one caller may try Redis again
  std::atomic<std::int64_t> backoff_ms_{0};
};

}  // namespace rt
