// The pacer: RateLimit header parsing and the schedule it produces (exact times, no sleeping).
#include <gtest/gtest.h>

#include "client/pacer.h"

namespace rt::client {

TEST(RateLimitHeaders, ParsesPolicyAndRemaining) {
  auto info = parse_rate_limit("\"per-token\";q=1000;w=10", "\"per-token\";r=998;t=1");
  ASSERT_TRUE(info);
  EXPECT_DOUBLE_EQ(info->rate(), 100.0);
  EXPECT_DOUBLE_EQ(info->quota, 1000.0);
  EXPECT_DOUBLE_EQ(*info->remaining, 998.0);
  EXPECT_DOUBLE_EQ(info->reset, 1.0);
}

TEST(RateLimitHeaders, MostRestrictiveOfSeveralPolicies) {
  auto info = parse_rate_limit("\"per-token\";q=1000;w=10, \"per-address\";q=100;w=5",
                               "\"per-token\";r=900;t=1, \"per-address\";r=40;t=3");
  ASSERT_TRUE(info);
  EXPECT_DOUBLE_EQ(info->rate(), 20.0);
  EXPECT_DOUBLE_EQ(*info->remaining, 40.0);
}

TEST(RateLimitHeaders, AbsentOrGarbageIsNothing) {
  EXPECT_FALSE(parse_rate_limit("", ""));
  EXPECT_FALSE(parse_rate_limit("nonsense", "more nonsense"));
  EXPECT_FALSE(parse_rate_limit("\"p\";q=0;w=1", ""));
}

TEST(Pacer, UnknownServerAndNoCeilingMeansNoWaiting) {
  Pacer p(0, 4);
  for (int i = 0; i < 100; ++i) EXPECT_DOUBLE_EQ(p.reserve(10.0), 10.0);
}

TEST(Pacer, OperatorCeilingSpacesRequestsEvenly) {
  Pacer p(50, 8);
  double last = 0;
  for (int i = 0; i < 100; ++i) last = p.reserve(0.0);
  EXPECT_NEAR(last, 99 / 50.0, 1e-9);  // 100 requests at 50/s: the last one at 1.98 s
}

TEST(Pacer, StaysJustUnderTheServersRateOnceTheBurstIsSpent) {
  Pacer p(0, 8);
  p.observe(0.0, "\"per-token\";q=20;w=1", "\"per-token\";r=0;t=1");  // 20/s, burst exhausted
  double first = p.reserve(0.0), last = first;
  for (int i = 1; i < 200; ++i) last = p.reserve(0.0);
  double rate = 199 / (last - first);
  EXPECT_LT(rate, 20.0);
  EXPECT_GT(rate, 19.0);
}

TEST(Pacer, SpendsTheRemainingBurstLessTheInFlightMargin) {
  Pacer p(0, 8);
  p.observe(0.0, "\"per-token\";q=1000;w=10", "\"per-token\";r=500;t=5");
  int immediate = 0;
  for (int i = 0; i < 600; ++i)
    if (p.reserve(0.0) <= 0.0) ++immediate;
  EXPECT_EQ(immediate, 500 - 10);  // margin = concurrency + 2
}

TEST(Pacer, ServerRemainingOnlyTightensTheSchedule) {
  Pacer p(0, 1);
  p.observe(0.0, "\"t\";q=100;w=1", "\"t\";r=50;t=1");
  p.observe(0.0, "\"t\";q=100;w=1", "\"t\";r=90;t=1");  // stale, more generous: ignored
  int immediate = 0;
  for (int i = 0; i < 100; ++i)
    if (p.reserve(0.0) <= 0.0) ++immediate;
  EXPECT_EQ(immediate, 47);
}

TEST(Pacer, RefusalPausesEveryone) {
  Pacer p(0, 4);
  p.on_throttled(5.0, 2.0, true);
  EXPECT_DOUBLE_EQ(p.reserve(5.5), 7.0);
  EXPECT_DOUBLE_EQ(p.reserve(7.5), 7.5);
}

TEST(Pacer, HeaderlessRefusalsSlowDownThenRecover) {
  Pacer p(0, 4);
  for (int i = 0; i < 32; ++i) p.reserve(i * 0.01);  // sending at 100/s
  p.on_throttled(0.31, 0.0, false);
  double slowed = p.target_rate();
  EXPECT_GT(slowed, 50.0);
  EXPECT_LT(slowed, 80.0);  // about 70% of what was sent
  for (int i = 0; i < 200; ++i) p.on_success();
  EXPECT_GT(p.target_rate(), slowed * 2);
}

}  // namespace rt::client
