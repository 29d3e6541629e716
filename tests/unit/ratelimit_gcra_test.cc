// GCRA: bursts up to the limit, refusals with the right retry time, recovery at the configured rate.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "ratelimit/gcra.h"

namespace rt {
namespace {

struct FakeTime {
  std::int64_t ns = 1'000'000'000;
};

TEST(Gcra, AllowsBurstThenRefusesWithRetryAfter) {
  FakeTime t;
  GcraLimiter limiter([&] { return t.ns; });
  RateLimitRule rule{"per-token", 10, 5};  // 10/s, burst 5
  for (int i = 0; i < 5; ++i) {
    auto d = limiter.check("k", rule);
    EXPECT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 4 - i);
  }
  auto refused = limiter.check("k", rule);
  EXPECT_FALSE(refused.allowed);
  EXPECT_NEAR(refused.retry_after, 0.1, 1e-6);
  EXPECT_EQ(refused.remaining, 0);
  t.ns += 100'000'000;  // one interval later, exactly one more
  EXPECT_TRUE(limiter.check("k", rule).allowed);
  EXPECT_FALSE(limiter.check("k", rule).allowed);
}

TEST(Gcra, RecoversFullBurstAfterIdleAndKeysAreIndependent) {
  FakeTime t;
  GcraLimiter limiter([&] { return t.ns; });
  RateLimitRule rule{"r", 2, 3};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.check("a", rule).allowed);
  EXPECT_FALSE(limiter.check("a", rule).allowed);
  EXPECT_TRUE(limiter.check("b", rule).allowed);
  t.ns += 1'500'000'000;  // 3 intervals of 0.5 s
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.check("a", rule).allowed);
  EXPECT_FALSE(limiter.check("a", rule).allowed);
}

TEST(Gcra, SustainedRateMatchesConfiguration) {
  FakeTime t;
  GcraLimiter limiter([&] { return t.ns; });
  RateLimitRule rule{"r", 50, 10};
  int allowed = 0;
  for (int step = 0; step < 10'000; ++step) {  // 10 s in 1 ms steps, one attempt per step
    if (limiter.check("k", rule).allowed) ++allowed;
    t.ns += 1'000'000;
  }
  EXPECT_GE(allowed, 50 * 10);
  EXPECT_LE(allowed, 50 * 10 + 10);
}

TEST(Gcra, DisabledRuleAllowsEverything) {
  GcraLimiter limiter;
  RateLimitRule off{"off", 0, 1};
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.check("k", off).allowed);
  EXPECT_EQ(limiter.tracked_keys(), 0u);
}

TEST(Gcra, IdleKeysAreSwept) {
  FakeTime t;
  GcraLimiter limiter([&] { return t.ns; });
  RateLimitRule rule{"r", 100, 10};
  for (int i = 0; i < 1000; ++i) (void)limiter.check("k" + std::to_string(i), rule);
  EXPECT_EQ(limiter.tracked_keys(), 1000u);
  t.ns += 60'000'000'000LL;
  for (int i = 0; i < 64 * 4; ++i) (void)limiter.check("z" + std::to_string(i), rule);  // touches every shard
  EXPECT_LT(limiter.tracked_keys(), 1000u);
}

TEST(Gcra, ConcurrentCallersNeverExceedTheBurst) {
  GcraLimiter limiter;  // real clock; rate so low that no refill happens during the test
  RateLimitRule rule{"r", 0.001, 100};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 100; ++j)
        if (limiter.check("shared", rule).allowed) ++allowed;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 100);
}

// The other side: callers whose budget is not spent are never refused, however they interleave. At one
// request per nanosecond with a burst of 2, every call (each at a later clock reading than the previous
// one) is within budget; a clock read outside the lock refused callers preempted between the two.
TEST(Gcra, ConcurrentCallersWithinTheBudgetAreNeverRefused) {
  GcraLimiter limiter;  // real clock
  RateLimitRule rule{"r", 1e9, 2};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 20000; ++j)
        if (!limiter.check("shared", rule).allowed) ++refused;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(refused.load(), 0);
}

}  // namespace
}  // namespace rt
