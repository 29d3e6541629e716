// GCRA: a request at time t is allowed when t >= TAT - burst * interval; then TAT = max(TAT, t) + interval.
// It behaves like a token bucket of size `burst` refilled at `rate`, with one integer of state per key.
#include "ratelimit/gcra.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace rt {
namespace {

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr std::int64_t kSweepIntervalNs = 10'000'000'000;  // 10 s

}  // namespace

GcraLimiter::GcraLimiter(std::function<std::int64_t()> now_ns)
    : now_ns_(now_ns ? std::move(now_ns) : std::function<std::int64_t()>(steady_now_ns)) {}

RateLimitDecision GcraLimiter::decide(std::int64_t& tat_ns, std::int64_t now_ns, const RateLimitRule& rule) {
  const double interval = 1e9 / rule.rate_per_second;
  const auto interval_ns = static_cast<std::int64_t>(interval);
  const auto tolerance_ns = static_cast<std::int64_t>(interval * rule.burst);  // burst * interval
  const std::int64_t tat = std::max(tat_ns, now_ns);
  RateLimitDecision d;
  const std::int64_t new_tat = tat + interval_ns;
  const std::int64_t allow_at = new_tat - tolerance_ns;
  if (now_ns < allow_at) {
    d.allowed = false;
    d.remaining = 0;
    d.retry_after = static_cast<double>(allow_at - now_ns) / 1e9;
    d.reset_after = static_cast<double>(tat - now_ns) / 1e9;
    return d;
  }
  tat_ns = new_tat;
  d.allowed = true;
  d.remaining = std::max<std::int64_t>(0, (tolerance_ns - (new_tat - now_ns)) / std::max<std::int64_t>(interval_ns, 1));
  d.reset_after = static_cast<double>(new_tat - now_ns) / 1e9;
  return d;
}

RateLimitDecision GcraLimiter::check(std::string_view key, const RateLimitRule& rule) {
  if (!rule.enabled()) return RateLimitDecision{true, rule.burst, 0, 0};
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mu);
  // The clock is read under the lock: a time read before it could be older than the TAT another thread
  // has just set, and a caller preempted in between would be refused although the budget is not spent.
  const std::int64_t now = now_ns_();
  if (now >= shard.next_sweep_ns) {
    // A key whose TAT has passed has its full burst back: forgetting it changes no decision.
    std::erase_if(shard.tat, [now](const auto& kv) { return kv.second <= now; });
    shard.next_sweep_ns = now + kSweepIntervalNs;
  }
  auto it = shard.tat.find(std::string(key));
  std::int64_t tat = it == shard.tat.end() ? now : it->second;
  RateLimitDecision d = decide(tat, now, rule);
  if (d.allowed) {
    if (it == shard.tat.end())
      shard.tat.emplace(std::string(key), tat);
    else
      it->second = tat;
  }
  return d;
}

size_t GcraLimiter::tracked_keys() {
  size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.tat.size();
  }
  return n;
}

}  // namespace rt
