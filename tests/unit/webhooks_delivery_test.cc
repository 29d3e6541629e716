// The webhook worker's pure parts: the signature header's HMAC-SHA256 (RFC 4231 test vectors) and the
// full-jitter retry delay's bounds.
#include <gtest/gtest.h>

#include <algorithm>

#include "webhooks/delivery.h"

namespace rt::webhooks {
namespace {

TEST(WebhookSignature, IsHexHmacSha256OfTheRawBody) {
  // RFC 4231 test case 2.
  EXPECT_EQ(webhook_signature("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_NE(webhook_signature("Jefe", "what do ya want for nothing!"),
            webhook_signature("Jefe", "what do ya want for nothing?"));
}

class FixedRandom final : public RandomSource {
 public:
  explicit FixedRandom(std::uint8_t byte) : byte_(byte) {}
  void fill(std::span<std::uint8_t> out) override { std::fill(out.begin(), out.end(), byte_); }

 private:
  std::uint8_t byte_;
};

TEST(WebhookRetryDelay, IsFullJitterUnderADoublingCeiling) {
  WebhookWorkerOptions o;
  o.retry_base = 10;
  o.retry_max = 3600;
  FixedRandom top(0xff), bottom(0x00);
  EXPECT_DOUBLE_EQ(webhook_retry_delay(o, 1, top), 10);
  EXPECT_DOUBLE_EQ(webhook_retry_delay(o, 2, top), 20);
  EXPECT_DOUBLE_EQ(webhook_retry_delay(o, 4, top), 80);
  EXPECT_DOUBLE_EQ(webhook_retry_delay(o, 30, top), 3600);  // capped
  EXPECT_DOUBLE_EQ(webhook_retry_delay(o, 3, bottom), 0);
  SystemRandom random;
  double low = 1e9, high = 0;
  for (int i = 0; i < 1000; ++i) {
    double d = webhook_retry_delay(o, 3, random);
    ASSERT_GE(d, 0);
    ASSERT_LE(d, 40);
    low = std::min(low, d);
    high = std::max(high, d);
  }
  EXPECT_LT(low, 10) << "spread over the whole range, not bunched at the ceiling";
  EXPECT_GT(high, 30);
}

}  // namespace
}  // namespace rt::webhooks
