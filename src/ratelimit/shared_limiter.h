// The shared limiter the server runs with --ratelimit redis://...: every decision is the in-process GCRA,
// taken on the caller's thread without any network wait; a background thread with its own Redis
// connection reports each key's admissions every few milliseconds (charging the shared GCRA state in
// Redis) and pulls the cluster-wide state back, moving the node's local state forward to it. The cluster
// can therefore overshoot a limit by what the other nodes admitted and had not yet reported (the bound is
// stated on SharedLimiter and in docs/design.md, "Shared rate limits off the request path").
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "ratelimit/limiter.h"
#include "ratelimit/redis_link.h"

namespace rt {

struct SharedLimiterOptions {
  bool fail_open = true;                        // false: refuse (decision.unavailable) during an outage
  std::chrono::milliseconds sync_interval{5};   // how often admissions are reported and the state pulled
  // Keys with part of their burst spent on this node are pulled this often (at most 256 per pass) even
  // when the node admits nothing on them, so its refusals follow the cluster's state.
  std::chrono::milliseconds pull_interval{20};
  // Off the request path, so generous: a report of thousands of keys on a busy machine can take 100 ms.
  std::chrono::milliseconds connect_timeout{100};
  std::chrono::milliseconds command_timeout{500};
  std::chrono::milliseconds min_backoff{50};    // first reconnection attempt after an outage starts
  std::chrono::milliseconds max_backoff{1000};  // backoff doubles up to this
  // With nothing to report, Redis is still pinged this often so that an outage is known (and fail-closed
  // refuses) before the next burst of traffic rather than after it.
  std::chrono::milliseconds idle_ping{1000};
  std::string key_prefix = "repotokens:rl:";    // the same keys and values as RedisLimiter's
  // Where outage/recovery lines go (once per outage each); default: one line on stderr.
  std::function<void(std::string_view)> log;
};

// Overshoot bound. Let L be a node's staleness: the time from another node's admission to this node
// having pulled it: the other's report (sync_interval + a round trip) plus this node's next report, or its
// next pull of a key with budget spent (pull_interval, more when over 256 such keys wait their turn):
// about 10 ms, 25 ms for a node that only refuses. Over any period, N nodes together admit at most what one
// exact GCRA admits (rate × period + burst) plus, for each of the N−1 other nodes, what its own GCRA could
// admit unseen: rate × L + burst, the burst only when a key goes from idle to busy. Redis charges every
// report, so the excess is repaid and admitted ÷ limit tends to 1 as the period grows. Nothing is ever
// admitted beyond what this node's own GCRA allows (each node alone is exact).
class SharedLimiter final : public Limiter {
 public:
  // Parses the URL and starts the background thread; does not need Redis to be up (a node starts with
  // per-node limits, fail-closed included, and shares them from its first successful report).
  // `invalid` with a message naming the expected form when the URL is malformed.
  static Result<std::unique_ptr<SharedLimiter>> create(std::string_view url, SharedLimiterOptions options = {});
  // Reports what is still unreported (one last round trip, bounded by the command timeout), then stops
  // the thread.
  ~SharedLimiter() override;

  // Thread-safe and never waits on the network. While Redis is unreachable: the per-node GCRA alone
  // (fail-open) or `unavailable` with retry_after = the reconnection backoff, at least 1 s (fail-closed).
  // Metrics: those of redis::Outage.
  RateLimitDecision check(std::string_view key, const RateLimitRule& rule) override;

  std::string describe() const { return endpoint_.describe(); }
  // False from the first failed report until Redis answers again.
  bool redis_reachable() const { return !outage_.down(); }
  // Blocks until one report-and-pull round has completed after this call (true) or failed (false);
  // for tests and benchmarks that need the shared state to have arrived.
  bool sync_now();
  size_t tracked_keys();

 private:
  struct Entry {
    std::int64_t tat_ns = 0;        // local GCRA state, steady clock
    std::int64_t pending = 0;       // admissions not yet reported
    std::int64_t first_pending_ns = 0;  // when the first of them was admitted
    std::int64_t interval_us = 0;   // of the rule last seen with this key
    std::int64_t tolerance_us = 0;  // burst × interval
    bool queued = false;            // listed in the shard's `dirty`
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> entries;  // "<rule>:<key>" -> state
    std::vector<std::string> dirty;                  // keys with pending admissions
    std::int64_t next_sweep_ns = 0;
  };
  struct Report {
    std::string key;
    std::int64_t count, interval_us;
    std::int64_t age_us;  // how long ago the first of `count` was admitted (at most the tolerance)
  };
  static constexpr size_t kShards = 64;

  SharedLimiter(RedisEndpoint endpoint, SharedLimiterOptions options);
  void run();
  std::vector<Report> collect();
  bool report(const std::vector<Report>& batch, std::string* why);
  // `cluster_ns`: each key's TAT in Redis, estimated on this node's steady clock.
  void apply(const std::vector<Report>& batch, const std::vector<std::int64_t>& cluster_ns);
  bool ensure_connection(std::string* why);
  void drop_connection();

  RedisEndpoint endpoint_;
  SharedLimiterOptions options_;
  redis::Outage outage_;
  std::array<Shard, kShards> shards_;
  std::atomic<std::int64_t> backoff_ms_{0};

  // The background thread's state; `mu_` guards the flags and the round counters.
  std::mutex mu_;
  std::condition_variable wake_, round_done_;
  bool stopping_ = false;
  bool sync_requested_ = false;
  std::uint64_t started_ = 0, completed_ = 0;  // rounds
  bool last_ok_ = false;                        // the last completed round reached Redis
  redisContext* conn_ = nullptr;  // only the background thread touches it
  std::string sha_;
  std::int64_t next_watch_ns_ = 0;  // background thread only, as are the four below
  size_t watch_cursor_ = 0;         // the shard the next pull of idle keys starts at
  std::int64_t offset_ns_ = 0;      // this node's steady clock minus Redis's clock
  std::int64_t best_trip_ns_ = -1;  // the round trip of the reply offset_ns_ comes from
  std::int64_t offset_at_ns_ = 0;   // when that reply arrived
  std::thread thread_;
};

}  // namespace rt
