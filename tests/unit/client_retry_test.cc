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

}  // namespace rt::client
