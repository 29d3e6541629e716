// The Redis limiter against a real, throwaway redis-server: one budget shared by two limiters (as two
// nodes), the same GCRA figures as the in-process limiter, idle keys expiring, and outages: fail-open
// keeps serving with per-node limits, fail-closed refuses, and both return to shared limits when Redis
// comes back on the same port.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/metrics.h"
#include "ratelimit/gcra.h"
#include "ratelimit/redis_limiter.h"
#include "support/pg_redis.h"
#include "unit/ratelimit_redis_fixture.h"

namespace rt {
namespace {
using namespace std::chrono_literals;

TEST(RedisUrl, ParsesHostPortPasswordAndDatabase) {
  auto ep = parse_redis_url("redis://:s3cret@cache.internal:6380/2");
  ASSERT_TRUE(ep.ok()) << ep.error().message;
  EXPECT_EQ(ep->host, "cache.internal");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->password, "s3cret");
  EXPECT_EQ(ep->database, 2);
  auto plain = parse_redis_url("redis://127.0.0.1");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 6379);
  for (const char* bad : {"http://x:1", "redis://", "redis://h:0", "redis://h:99999", "redis://h:12ab", "redis://h/x"}) {
    auto r = parse_redis_url(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid);
    EXPECT_NE(r.error().message.find("redis://[:PASSWORD@]HOST[:PORT][/DB]"), std::string::npos);
  }
}

class RedisLimiterTest : public test::RedisFixture {
 protected:
  std::unique_ptr<RedisLimiter> limiter(bool fail_open = true) {
    RedisLimiterOptions options;
    options.fail_open = fail_open;
    options.max_backoff = 200ms;
    options.log = log_sink();
    auto r = RedisLimiter::create(redis_->url(), options);
    EXPECT_TRUE(r.ok());
    return std::move(r).value();
  }

  // Waits until the limiter has found Redis again (it re-probes with a backoff of at most 200 ms).
  bool reconnects(RedisLimiter& l, const RateLimitRule& rule) {
    for (int i = 0; i < 200 && !l.redis_reachable(); ++i) {
      (void)l.check("probe", rule);
      std::this_thread::sleep_for(10ms);
    }
    return l.redis_reachable();
  }
};

TEST_F(RedisLimiterTest, TwoNodesShareOneBudgetWithTheInProcessFigures) {
  auto a = limiter(), b = limiter();
  const RateLimitRule rule{"per-token", 0.5, 5};  // one request per 2 s on average, 5 at once
  GcraLimiter reference([] { return std::int64_t{1'000'000'000'000}; });  // a frozen clock: no refill
  for (int i = 0; i < 5; ++i) {
    RateLimitDecision d = (i % 2 ? *a : *b).check("r:1", rule);
    RateLimitDecision expected = reference.check("r:1", rule);
    ASSERT_TRUE(d.allowed) << "request " << i;
    EXPECT_EQ(d.remaining, expected.remaining) << "request " << i;
    EXPECT_NEAR(d.reset_after, expected.reset_after, 0.05) << "request " << i;
  }
  for (RedisLimiter* node : {a.get(), b.get()}) {
    RateLimitDecision d = node->check("r:1", rule);
    EXPECT_FALSE(d.allowed);
    EXPECT_FALSE(d.unavailable);
    EXPECT_EQ(d.remaining, 0);
    EXPECT_NEAR(d.retry_after, 2.0, 0.1);
  }
  EXPECT_TRUE(a->check("r:2", rule).allowed);  // another key has its own budget
  EXPECT_TRUE(log_lines().empty());
}

TEST_F(RedisLimiterTest, ARefusedKeyIsAllowedAgainAfterRetryAfterAndIdleKeysExpire) {
  auto a = limiter(), b = limiter();
  const RateLimitRule rule{"per-address", 10, 2};  // 100 ms per request
  ASSERT_TRUE(a->check("ip:10.0.0.1", rule).allowed);
  ASSERT_TRUE(b->check("ip:10.0.0.1", rule).allowed);
  RateLimitDecision refused = a->check("ip:10.0.0.1", rule);
  ASSERT_FALSE(refused.allowed);
  ASSERT_GT(refused.retry_after, 0.0);
  ASSERT_LE(refused.retry_after, 0.1);
  std::this_thread::sleep_for(std::chrono::duration<double>(refused.retry_after) + 20ms);
  EXPECT_TRUE(b->check("ip:10.0.0.1", rule).allowed);
  EXPECT_FALSE(a->check("ip:10.0.0.1", rule).allowed);

  // The key lives only as long as it matters: until its full burst is back (about 0.2 s here).
  long long ttl = pttl("repotokens:rl:per-address:ip:10.0.0.1");
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 250);
  std::this_thread::sleep_for(std::chrono::milliseconds(ttl + 50));
  EXPECT_EQ(pttl("repotokens:rl:per-address:ip:10.0.0.1"), -2);  // gone
}

TEST_F(RedisLimiterTest, FailOpenServesWithLocalLimitsDuringAnOutageAndSharesAgainAfter) {
  auto a = limiter(), b = limiter();
  const RateLimitRule rule{"per-token", 0.5, 3};
  ASSERT_TRUE(a->check("r:9", rule).allowed);
  redis_->stop();

  // Each node now has its own budget of 3; decisions come at once instead of waiting on a dead server.
  auto started = std::chrono::steady_clock::now();
  int allowed_a = 0, allowed_b = 0;
  for (int i = 0; i < 100; ++i) {
    allowed_a += a->check("r:9", rule).allowed;
    allowed_b += b->check("r:9", rule).allowed;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "requests queued behind the dead Redis";
  EXPECT_EQ(allowed_a, 3);
  EXPECT_EQ(allowed_b, 3);
  EXPECT_FALSE(a->redis_reachable());
  auto lines = log_lines();
  ASSERT_EQ(lines.size(), 2u);  // one line per node and outage, not one per request
  EXPECT_NE(lines[0].find("unreachable"), std::string::npos);
  EXPECT_NE(lines[0].find("per node"), std::string::npos);
  std::string metrics_text = metrics::render();
  EXPECT_NE(metrics_text.find("repotokens_ratelimit_redis_failures_total"), std::string::npos);
  EXPECT_NE(metrics_text.find("repotokens_ratelimit_redis_down 1"), std::string::npos) << metrics_text;

  redis_->start();  // same port, empty
  ASSERT_TRUE(reconnects(*a, rule));
  ASSERT_TRUE(reconnects(*b, rule));
  const RateLimitRule fresh{"after", 0.5, 2};
  EXPECT_TRUE(a->check("r:9", fresh).allowed);
  EXPECT_TRUE(b->check("r:9", fresh).allowed);
  EXPECT_FALSE(a->check("r:9", fresh).allowed);  // one shared budget again
  EXPECT_FALSE(b->check("r:9", fresh).allowed);
  EXPECT_EQ(log_lines().size(), 4u);
  EXPECT_NE(log_lines()[2].find("reachable again"), std::string::npos);
}

TEST_F(RedisLimiterTest, FailClosedRefusesDuringAnOutageSayingWhyAndRecovers) {
  auto l = limiter(/*fail_open=*/false);
  const RateLimitRule rule{"per-token", 100, 100};
  ASSERT_TRUE(l->check("a:1", rule).allowed);
  redis_->stop();
  for (int i = 0; i < 20; ++i) {
    RateLimitDecision d = l->check("a:1", rule);
    EXPECT_FALSE(d.allowed);
    EXPECT_TRUE(d.unavailable);
    EXPECT_GT(d.retry_after, 0.0);
  }
  EXPECT_NE(log_lines().at(0).find("fail-closed"), std::string::npos);
  redis_->start();
  ASSERT_TRUE(reconnects(*l, rule));
  RateLimitDecision d = l->check("a:1", rule);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.unavailable);
}

TEST_F(RedisLimiterTest, ConcurrentCallersNeverExceedTheSharedBurst) {
  auto a = limiter(), b = limiter();
  const RateLimitRule rule{"per-token", 0.1, 50};  // 50 at once, then one per 10 s
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      RedisLimiter& node = t % 2 ? *a : *b;
      for (int i = 0; i < 25; ++i) allowed += node.check("r:shared", rule).allowed;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 50);
}

TEST_F(RedisLimiterTest, ADisabledRuleNeverTouchesRedis) {
  auto l = limiter();
  redis_->stop();
  EXPECT_TRUE(l->check("x", RateLimitRule{"off", 0, 1}).allowed);
  EXPECT_TRUE(l->redis_reachable());
}

}  // namespace
}  // namespace rt
