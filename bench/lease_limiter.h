// Design A of issue 13's comparison (docs/design.md, "Shared rate limits off the request path"), kept for
// bench/ratelimit_sharing.cc only: each node leases part of a key's GCRA budget from Redis and spends it
// locally; a background thread renews a lease when it runs low (woken at once by the request that crosses
// the low-water mark), returns leases idle for `idle_return`, and returns all of them on destruction.
// A key this node has never leased is allowed once on credit (charged with the first lease) so that a
// cold key is not refused; after that a node with no tokens refuses until its next lease arrives.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "ratelimit/gcra.h"
#include "ratelimit/limiter.h"
#include "ratelimit/redis_link.h"

namespace rt {

struct LeaseLimiterOptions {
  bool fail_open = true;
  std::chrono::milliseconds tick{5};            // renewals of keys that asked without waking the thread
  std::chrono::milliseconds lease_span{50};     // a lease is at most rate × lease_span requests...
  double lease_burst_share = 0.5;               // ...and at most this share of the burst
  std::chrono::milliseconds idle_return{100};   // unused tokens of a key idle this long go back
  std::chrono::milliseconds connect_timeout{100};
  std::chrono::milliseconds command_timeout{100};
  std::string key_prefix = "repotokens:rl:";
};

class LeaseLimiter final : public Limiter {
 public:
  static Result<std::unique_ptr<LeaseLimiter>> create(std::string_view url, LeaseLimiterOptions options = {});
  ~LeaseLimiter() override;  // returns every unused token (one round trip), then stops the thread
  RateLimitDecision check(std::string_view key, const RateLimitRule& rule) override;
  bool redis_reachable() const { return !outage_.down(); }

 private:
  struct Entry {
    std::int64_t tokens = 0;        // leased and unspent
    std::int64_t credit = 0;        // admitted before any lease: charged with the next one
    std::int64_t want = 1;          // lease size for the rule last seen
    std::int64_t interval_us = 0, tolerance_us = 0;
    std::int64_t last_use_ns = 0;
    std::int64_t refused_until_ns = 0;  // from the last empty lease: when Redis's bucket has room again
    bool leased_ever = false;
    bool queued = false;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> entries;
    std::vector<std::string> queue;  // keys wanting a lease
  };
  struct Ask {
    std::string key;
    std::int64_t want, charge, give_back, interval_us, tolerance_us;
  };
  static constexpr size_t kShards = 64;

  LeaseLimiter(RedisEndpoint endpoint, LeaseLimiterOptions options);
  void run();
  std::vector<Ask> collect(bool everything);
  bool send(const std::vector<Ask>& asks, std::string* why);
  void queue_locked(Shard& shard, const std::string& key, Entry& e, bool wake);

  RedisEndpoint endpoint_;
  LeaseLimiterOptions options_;
  redis::Outage outage_;
  GcraLimiter local_;  // per-node limits during an outage (fail-open)
  std::array<Shard, kShards> shards_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false, woken_ = false;
  redisContext* conn_ = nullptr;
  std::string sha_;
  std::thread thread_;
};

}  // namespace rt
