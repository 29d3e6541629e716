// repotokensd wired for several nodes, against real throwaway PostgreSQL and Redis servers: rate limits
// kept in Redis (--ratelimit) and shared by two nodes, fail-open and fail-closed while Redis is down, and
// what /metrics and the log say about the outage.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "support/api_fixture.h"
#include "support/pg_redis.h"

namespace rt::test {
namespace {
using namespace std::chrono_literals;

// A 64-hex-character key file, as every node of a PostgreSQL deployment is given.
std::string write_secret_file(const TempDir& dir) {
  std::string path = (dir.path() / "secret.key").string();
  std::ofstream(path) << std::string(64, 'a') << "\n";
  return path;
}

// The value of an unlabelled series in the Prometheus text, or -1 when absent.
double metric(HttpClient& http, const std::string& name) {
  std::string text = http.get("/metrics").body;
  std::string prefix = "\n" + name + " ";
  size_t at = text.find(prefix);
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + prefix.size()));
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Polls `fn` (returning true when done) every 50 ms for up to `limit`.
template <class F>
bool eventually(F fn, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return fn();
}

TEST(ScaleOutRateLimits, ABurstOfFiveAtOnePerSecondIsSharedByTwoNodesThroughRedis) {
  RT_REQUIRE_POSTGRES();
  RT_REQUIRE_REDIS();
  PostgresServer pg;
  RedisServer redis;
  TempDir keys;
  ServerOptions options{.db_url = pg.create_database(),
                        .extra_args = {"--ratelimit", redis.url(), "--rate-limit-per-token", "1", "--rate-burst", "5"},
                        .env = {"REPOTOKENS_SECRET_FILE=" + write_secret_file(keys)}};
  ServerProcess a(options), b(options);
  HttpClient http_a(a.base_url()), http_b(b.base_url());
  const std::string token = a.create_user_offline("admin", true);
  // Three through A and two through B use the one budget of five; a local limiter would allow five each.
  for (int i = 0; i < 5; ++i) {
    auto r = (i < 3 ? http_a : http_b).get("/api/v3/user", {api_token(token)});
    ASSERT_EQ(r.status, 200) << "request " << i + 1 << ": " << r.body;
  }
  auto refused_a = http_a.get("/api/v3/user", {api_token(token)});
  auto refused_b = http_b.get("/api/v3/user", {api_token(token)});
  EXPECT_TRUE(IsApiError(refused_a, 429));
  EXPECT_TRUE(IsApiError(refused_b, 429));
  EXPECT_FALSE(refused_b.header("retry-after").empty());
  EXPECT_EQ(metric(http_a, "repotokens_ratelimit_redis_down"), 0);
  EXPECT_EQ(metric(http_a, "repotokens_ratelimit_redis_outages_total"), 0) << "present, at 0, from the start";
}

class RedisOutage : public ::testing::Test {
 protected:
  void SetUp() override {
    RT_REQUIRE_REDIS();
    redis_ = std::make_unique<RedisServer>();
  }
  // A SQLite node whose rate limits live in Redis (the limiter does not depend on the database).
  std::unique_ptr<ServerProcess> node(const std::string& failure) {
    return std::make_unique<ServerProcess>(
        ServerOptions{.extra_args = {"--ratelimit", redis_->url(), "--ratelimit-failure", failure}});
  }
  std::unique_ptr<RedisServer> redis_;
};

TEST_F(RedisOutage, FailClosedAnswers503SayingWhyUntilRedisReturns) {
  auto server = node("closed");
  HttpClient http(server->base_url());
  const std::string token = server->create_user_offline("admin", true);
  ASSERT_EQ(http.get("/api/v3/user", {api_token(token)}).status, 200);

  redis_->stop();
  auto r = http.get("/api/v3/user", {api_token(token)});
  ASSERT_TRUE(IsApiError(r, 503));
  EXPECT_NE(r.json()["message"].get<std::string>().find("rate limit store unreachable"), std::string::npos) << r.body;
  EXPECT_FALSE(r.header("retry-after").empty());
  EXPECT_TRUE(r.header("ratelimit").empty()) << "no budget is known during the outage";
  // A refused credential is not told 401 either: the per-address limit cannot be checked.
  EXPECT_EQ(http.get("/api/v3/user", {api_token("rtka_" + std::string(40, 'x'))}).status, 503);
  // Health and metrics are never rate-limited, and the metrics show the outage.
  EXPECT_EQ(http.get("/api/v3/health").status, 200);
  EXPECT_EQ(metric(http, "repotokens_ratelimit_redis_down"), 1);

  redis_->start();
  EXPECT_TRUE(eventually([&] { return http.get("/api/v3/user", {api_token(token)}).status == 200; }))
      << "the node did not return to shared limits after Redis came back";
  EXPECT_EQ(metric(http, "repotokens_ratelimit_redis_down"), 0);
}

TEST_F(RedisOutage, FailOpenKeepsServingLogsOnceAndCountsTheOutage) {
  auto server = node("open");
  HttpClient http(server->base_url());
  const std::string token = server->create_user_offline("admin", true);
  ASSERT_EQ(http.get("/api/v3/user", {api_token(token)}).status, 200);
  EXPECT_EQ(metric(http, "repotokens_ratelimit_redis_outages_total"), 0);

  redis_->stop();
  for (int i = 0; i < 20; ++i) {
    auto r = http.get("/api/v3/user", {api_token(token)});
    ASSERT_EQ(r.status, 200) << "request " << i + 1 << " during the outage: " << r.body;
    EXPECT_FALSE(r.header("ratelimit").empty()) << "per-node limits still apply";
  }
  EXPECT_EQ(metric(http, "repotokens_ratelimit_redis_down"), 1);
  EXPECT_EQ(metric(http, "repotokens_ratelimit_redis_outages_total"), 1);
  EXPECT_GE(metric(http, "repotokens_ratelimit_redis_failures_total"), 1);
  EXPECT_TRUE(eventually([&] { return count_of(server->log(), "is unreachable (") == 1; }, 1000ms)) << server->log();

  redis_->start();
  EXPECT_TRUE(eventually([&] {
    (void)http.get("/api/v3/user", {api_token(token)});
    return metric(http, "repotokens_ratelimit_redis_down") == 0;
  })) << "the node did not notice Redis coming back";
  EXPECT_EQ(metric(http, "repotokens_ratelimit_redis_outages_total"), 1);
  EXPECT_TRUE(eventually([&] { return count_of(server->log(), "is reachable again") == 1; }, 1000ms)) << server->log();
  EXPECT_EQ(count_of(server->log(), "is unreachable ("), 1) << "one line per outage, not per request";
}

// With PostgreSQL the shared key file is required, and a node says so before it touches the database:
// the same message whether the database is unreachable or up, and an up one is left untouched.
TEST(SharedSecret, PostgresWithoutSecretFileIsRefusedBeforeConnecting) {
  RT_REQUIRE_POSTGRES();
  PostgresServer pg;
  const std::string db = pg.create_database();
  const std::string unreachable = "postgresql://postgres@127.0.0.1:1/nowhere";
  const std::vector<std::string> no_secret = {"REPOTOKENS_SECRET_FILE="};
  const std::string expected = "--secret-file (or REPOTOKENS_SECRET_FILE) is required with PostgreSQL";
  for (const std::string& url : {unreachable, db}) {
    SCOPED_TRACE(url);
    for (std::vector<std::string> args : {std::vector<std::string>{"serve", "--listen", "127.0.0.1:0"},
                                          std::vector<std::string>{"admin", "create-user", "--name", "root"}}) {
      args.insert(args.begin(), REPOTOKENSD_BIN);
      args.insert(args.end(), {"--db", url});
      CommandResult r = run_command(args, {}, no_secret, 30);
      EXPECT_EQ(r.exit_code, 1) << args[1] << ": " << r.err;
      EXPECT_EQ(r.err.rfind("repotokensd: " + expected, 0), 0u) << "not the first thing said by " << args[1] << ": " << r.err;
      EXPECT_EQ(r.err.find("connect"), std::string::npos) << r.err;
    }
  }
  EXPECT_EQ(pg.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db.substr(db.rfind('/') + 1)),
            "0\n")
      << "the database was touched";

  // A named key file that does not exist is refused the same way, naming the file.
  CommandResult r = run_command({REPOTOKENSD_BIN, "serve", "--db", unreachable, "--secret-file", "/nonexistent/key"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot read secret file /nonexistent/key"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rt::test
