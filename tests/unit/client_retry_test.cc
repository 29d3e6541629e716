// The client's retry policy: which statuses are retried, Retry-After parsing, and bounded full-jitter backoff.
#include <gtest/gtest.h>

#include "client/retry_policy.h"

namespace rt::client {

TEST(RetryPolicy, ThrottleStatusesAreExactlyThoseOfTheContract) {
  EXPECT_TRUE(is_throttle_status(429));
  EXPECT_TRUE(is_throttle_status(503));
  EXPECT_TRUE(is_throttle_status(504));
  for (long s : {200L, 400L, 401L, 403L, 404L, 409L, 500L, 502L}) EXPECT_FALSE(is_throttle_status(s)) << s;
}

TEST(RetryPolicy, RetryAfterSecondsAndDates) {
  EXPECT_DOUBLE_EQ(*parse_retry_after("3", 0), 3.0);
  EXPECT_DOUBLE_EQ(*parse_retry_after(" 0.5 ", 0), 0.5);
  EXPECT_DOUBLE_EQ(*parse_retry_after("999999", 0), 3600.0);  // capped
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
  EXPECT_DOUBLE_EQ(*parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111770), 7.0);
  EXPECT_DOUBLE_EQ(*parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111800), 0.0);  // past: no wait
  EXPECT_FALSE(parse_retry_after("", 0));
  EXPECT_FALSE(parse_retry_after("soon", 0));
  EXPECT_FALSE(parse_retry_after("3s", 0));
}

TEST(RetryPolicy, BoundedAttempts) {
  RetryPolicy p(3);
  EXPECT_TRUE(p.may_retry(1));
  EXPECT_TRUE(p.may_retry(2));
  EXPECT_FALSE(p.may_retry(3));
}

TEST(RetryPolicy, RetryAfterWinsOverBackoff) {
  RetryPolicy p(5);
  std::mt19937_64 random(1);
  EXPECT_DOUBLE_EQ(p.delay(4, 2.5, random), 2.5);
}

TEST(RetryPolicy, FullJitterStaysUnderTheExponentialCeiling) {
  RetryPolicy p(20, 0.2, 15.0);
  std::mt19937_64 random(42);
  for (int attempt = 1; attempt <= 12; ++attempt) {
    double ceiling = std::min(15.0, 0.2 * (1 << (attempt - 1)));
    double sum = 0;
    for (int i = 0; i < 400; ++i) {
      double d = p.delay(attempt, std::nullopt, random);
      ASSERT_GE(d, 0.0);
      ASSERT_LE(d, ceiling);
      sum += d;
    }
    EXPECT_NEAR(sum / 400, ceiling / 2, ceiling * 0.1) << "attempt " << attempt;  // uniform: mean is half
  }
}

TEST(RetryPolicy, NoResponseIsRetriedOnlyOnceTheServerHasAnsweredAndNeverAfterTls) {
  RetryPolicy p(5);
  EXPECT_FALSE(p.retry_without_response(false, false));  // a wrong URL or a server down: report at once
  EXPECT_TRUE(p.retry_without_response(false, true));    // an outage mid-run: ride it out
  EXPECT_FALSE(p.retry_without_response(true, true));    // a certificate does not fix itself
}

TEST(RetryLog, CountsByCauseAndTellsTheObserver) {
  struct Seen : RetryObserver {
    std::vector<RetryEvent> events;
    void on_retry(const RetryEvent& e) override { events.push_back(e); }
  } seen, other;
  RetryLog log;
  log.record({RetryCause::unreachable, 0, 1, 9, 0.2, "connection refused"});  // nobody listening yet
  log.set_observer(&seen);
  log.record({RetryCause::throttled, 429, 1, 9, 2.0, "HTTP 429"});
  log.record({RetryCause::server_busy, 503, 2, 9, 0.5, "HTTP 503"});
  log.clear_observer(&other);  // not the registered one: no effect
  log.record({RetryCause::throttled, 429, 2, 9, 1.0, "HTTP 429"});
  log.clear_observer(&seen);
  log.record({RetryCause::unreachable, 0, 2, 9, 0.4, "connection refused"});
  EXPECT_EQ(log.count(RetryCause::unreachable), 2u);
  EXPECT_EQ(log.count(RetryCause::throttled), 2u);
  EXPECT_EQ(log.count(RetryCause::server_busy), 1u);
  ASSERT_EQ(seen.events.size(), 3u);
  EXPECT_EQ(seen.events[1].status, 503);
  EXPECT_STREQ(retry_cause_name(RetryCause::server_busy), "server busy");
}

}  // namespace rt::client
