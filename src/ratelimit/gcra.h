// The in-process limiter: GCRA (generic cell rate algorithm), one "theoretical arrival time" per key,
// in sharded hash maps so threads rarely contend. Memory is bounded: idle keys are swept.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ratelimit/limiter.h"

namespace rt {

class GcraLimiter final : public Limiter {
 public:
  // `now_ns` returns monotonic nanoseconds; the default is std::chrono::steady_clock.
  explicit GcraLimiter(std::function<std::int64_t()> now_ns = {});
  RateLimitDecision check(std::string_view key, const RateLimitRule& rule) override;

  // The decision for a known time, for tests and for GCRA arithmetic shared with the Redis limiter.
  static RateLimitDecision decide(std::int64_t& tat_ns, std::int64_t now_ns, const RateLimitRule& rule);

  size_t tracked_keys();

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::int64_t> tat;  // key -> theoretical arrival time (ns)
    std::int64_t next_sweep_ns = 0;
  };
  static constexpr size_t kShards = 64;
  std::function<std::int64_t()> now_ns_;
  std::array<Shard, kShards> shards_;
};

}  // namespace rt
