// Two repotokensd nodes serving as one (issue 5): both on one throwaway PostgreSQL, sharing rate limits
// through one throwaway Redis and the hashing key through one secret file. A token made through node A
// works on B; a revocation through A — by its owner, or as leaked by anyone holding it — is refused on B
// within the documented bound (--cache-ttl-ms, 1 s);
// concurrent creates split over both nodes keep the 100-live-token and unique-name rules; lastUsedAt
// batched by either node shows through the other; a PostgreSQL outage is a clear 503 and both nodes
// recover when it returns, without a restart. Skips visibly without the binaries. The shared rate limit
// and Redis outages: server_scaleout_wiring_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "support/api_fixture.h"
#include "support/pg_redis.h"

namespace rt::test {
namespace {

using Clock = std::chrono::steady_clock;

class TwoNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    RT_REQUIRE_POSTGRES();
    RT_REQUIRE_REDIS();
    pg_ = std::make_unique<PostgresServer>();
    redis_ = std::make_unique<RedisServer>();
    db_ = pg_->create_database();
    secret_ = write_secret_file(dir_.path()).string();
    CommandResult migrated = run_command({REPOTOKENSD_BIN, "admin", "migrate", "--db", db_});
    ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  }

  // Both nodes, with these extra serve options on top of the shared database, key and Redis.
  void start_nodes(std::vector<std::string> extra = {}) {
    ServerOptions o;
    o.db_url = db_;
    o.extra_args = {"--secret-file", secret_, "--ratelimit", redis_->url()};
    o.extra_args.insert(o.extra_args.end(), extra.begin(), extra.end());
    a_ = std::make_unique<ServerProcess>(o);
    b_ = std::make_unique<ServerProcess>(o);
    http_a_ = std::make_unique<HttpClient>(a_->base_url());
    http_b_ = std::make_unique<HttpClient>(b_->base_url());
  }

  // An instance admin (made offline), organization gh/acme and its repository "api", through node A.
  std::string make_world() {
    CommandResult made = run_command({REPOTOKENSD_BIN, "admin", "create-user", "--db", db_, "--secret-file", secret_,
                                      "--name", "root", "--instance-admin"});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    std::string admin = made.out.substr(0, made.out.find('\n'));
    auto r = http_a_->post("/api/v3/organizations", {{"provider", "gh"}, {"name", "acme"}}, {api_token(admin)});
    EXPECT_EQ(r.status, 200) << r.body;
    add_repository(*http_a_, admin, "gh", "acme", "api");
    return admin;
  }

  TempDir dir_;
  std::unique_ptr<PostgresServer> pg_;
  std::unique_ptr<RedisServer> redis_;
  std::string db_, secret_;
  std::unique_ptr<ServerProcess> a_, b_;
  std::unique_ptr<HttpClient> http_a_, http_b_;
  const std::string api_ = repo_path("gh", "acme", "api");
};

TEST_F(TwoNodes, ATokenMadeOnAWorksOnBAndItsRevocationReachesBWithinOneSecond) {
  start_nodes();
  std::string admin = make_world();
  IssuedToken t = create_repository_token(*http_a_, admin, "gh", "acme", "api");
  auto r = http_b_->get(api_, {project_token(t.secret)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"]["name"], "api");
  // B now holds the token in its cache; the revocation goes through A.
  r = http_a_->del(api_ + "/tokens/" + std::to_string(t.id), {api_token(admin)});
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(IsApiError(http_a_->get(api_, {project_token(t.secret)}), 401)) << "A refuses at once";
  auto revoked = Clock::now();
  long status = 200;
  while (status == 200 && Clock::now() - revoked < std::chrono::seconds(3)) {
    status = http_b_->get(api_, {project_token(t.secret)}).status;
    if (status == 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  double took = std::chrono::duration<double>(Clock::now() - revoked).count();
  EXPECT_EQ(status, 401);
  EXPECT_LE(took, 1.5) << "B accepted the revoked token for " << took << " s (documented bound: 1 s)";
}

// Issue 12: "the revoked token is refused on the other node within the cache bound". Both kinds of token,
// cached by B, reported as leaked through A's POST /tokens/revoke (no credential: holding it is enough).
TEST_F(TwoNodes, ATokenRevokedAsLeakedThroughAIsRefusedOnBWithinTheCacheBound) {
  start_nodes();
  std::string admin = make_world();
  IssuedToken repo_token = create_repository_token(*http_a_, admin, "gh", "acme", "api");
  auto account = http_a_->post("/api/v3/user/tokens", nlohmann::json::object(), {api_token(admin)});
  ASSERT_EQ(account.status, 200) << account.body;
  const std::string account_token = account.json()["token"];
  struct Case {
    std::string what, secret, path, header;
  };
  for (const Case& c : {Case{"repository token", repo_token.secret, api_, project_token(repo_token.secret)},
                        Case{"account token", account_token, "/api/v3/user", api_token(account_token)}}) {
    ASSERT_EQ(http_b_->get(c.path, {c.header}).status, 200) << c.what << ": B now holds it in its cache";
    auto reported = HttpClient(a_->base_url()).post("/api/v3/tokens/revoke", {{"token", c.secret}});
    ASSERT_EQ(reported.status, 204) << reported.body;
    EXPECT_TRUE(IsApiError(http_a_->get(c.path, {c.header}), 401)) << c.what << ": A refuses at once";
    auto revoked = Clock::now();
    long status = 200;
    while (status == 200 && Clock::now() - revoked < std::chrono::seconds(3)) {
      status = http_b_->get(c.path, {c.header}).status;
      if (status == 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    double took = std::chrono::duration<double>(Clock::now() - revoked).count();
    EXPECT_EQ(status, 401) << c.what;
    EXPECT_LE(took, 1.5) << c.what << ": B accepted the leaked token for " << took << " s (documented bound: 1 s)";
  }
}

TEST_F(TwoNodes, ConcurrentCreatesOverBothNodesKeepAtMost100LiveTokensWithUniqueNames) {
  start_nodes();
  std::string admin = make_world();
  // Both nodes try the same 120 names at once: the name rule and the 100-token cap race across nodes.
  std::atomic<int> created{0}, refused{0}, other{0};
  auto creator = [&](const std::string& base) {
    HttpClient http(base);
    for (int i = 0; i < 120; ++i) {
      auto r = http.post(api_ + "/tokens", {{"name", "t" + std::to_string(i)}}, {api_token(admin)});
      (r.status == 201 ? created : r.status == 409 ? refused : other)++;
    }
  };
  std::thread on_a(creator, a_->base_url()), on_b(creator, b_->base_url());
  on_a.join();
  on_b.join();
  EXPECT_EQ(other.load(), 0) << "every attempt is either created (201) or refused by a rule (409)";
  EXPECT_EQ(created.load(), 100);
  EXPECT_EQ(refused.load(), 140);
  auto tokens = walk_all(*http_b_, api_ + "/tokens?limit=100", admin);
  std::set<std::string> names;
  for (const auto& t : tokens) names.insert(t["name"].get<std::string>());
  EXPECT_EQ(tokens.size(), 100u);
  EXPECT_EQ(names.size(), tokens.size()) << "a name was given twice";
}

TEST_F(TwoNodes, LastUseBatchedByEitherNodeIsSeenThroughTheOther) {
  start_nodes();
  std::string admin = make_world();
  IssuedToken used_on_a = create_repository_token(*http_a_, admin, "gh", "acme", "api");
  IssuedToken used_on_b = create_repository_token(*http_a_, admin, "gh", "acme", "api");
  IssuedToken unused = create_repository_token(*http_a_, admin, "gh", "acme", "api");
  ASSERT_EQ(http_a_->get(api_, {project_token(used_on_a.secret)}).status, 200);
  ASSERT_EQ(http_b_->get(api_, {project_token(used_on_b.secret)}).status, 200);
  // Each node writes its batch within a second; read the listing through the other node.
  std::map<std::int64_t, nlohmann::json> seen;
  eventually([&] {
    seen.clear();
    for (const auto& t : walk_all(*http_b_, api_ + "/tokens", admin)) seen[t["id"].get<std::int64_t>()] = t;
    return seen[used_on_a.id].contains("lastUsedAt") && seen[used_on_b.id].contains("lastUsedAt");
  }, std::chrono::seconds(5));
  EXPECT_TRUE(seen[used_on_a.id].contains("lastUsedAt")) << seen[used_on_a.id].dump();
  EXPECT_TRUE(seen[used_on_b.id].contains("lastUsedAt")) << seen[used_on_b.id].dump();
  EXPECT_FALSE(seen[unused.id].contains("lastUsedAt")) << seen[unused.id].dump();
}

TEST_F(TwoNodes, WithPostgresDownRequestsAre503AndBothNodesRecoverWithoutARestart) {
  start_nodes();
  std::string admin = make_world();
  pg_->stop();
  for (HttpClient* http : {http_a_.get(), http_b_.get()}) {
    auto r = http->post(api_ + "/tokens", nlohmann::json::object(), {api_token(admin)});
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_NE(r.json()["message"].get<std::string>().find("PostgreSQL"), std::string::npos) << r.body;
  }
  pg_->start();
  for (HttpClient* http : {http_a_.get(), http_b_.get()}) {
    EXPECT_TRUE(eventually([&] {
      return http->post(api_ + "/tokens", nlohmann::json::object(), {api_token(admin)}).status == 201;
    })) << "a node did not recover after PostgreSQL returned";
  }
}

}  // namespace
}  // namespace rt::test
