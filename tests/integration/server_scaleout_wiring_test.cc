// repotokensd wired for several nodes, against real throwaway PostgreSQL and Redis servers: rate limits
// kept in Redis (--ratelimit) and shared by two nodes, fail-open and fail-closed while Redis is down, and
// what /metrics and the log say about the outage; the shared key file checked first; schema versions in
// `admin migrate` / `admin check`, and nodes that refuse a schema other than their own.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "support/api_fixture.h"
#include "support/pg_redis.h"

namespace rt::test {
namespace {
using namespace std::chrono_literals;

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

// One PostgreSQL database, one Redis and a shared key file: what nodes sharing a per-token limit of `rate`
// per second (burst `burst`) through Redis are started with.
struct SharedLimitCluster {
  PostgresServer pg;
  RedisServer redis;
  TempDir keys;
  ServerOptions node_options(int rate, int burst) {
    return ServerOptions{.db_url = pg.create_database(),
                         .extra_args = {"--ratelimit", redis.url(), "--rate-limit-per-token", std::to_string(rate),
                                        "--rate-burst", std::to_string(burst)},
                         .env = {"REPOTOKENS_SECRET_FILE=" + write_secret_file(keys.path()).string()}};
  }
};

TEST(ScaleOutRateLimits, ABurstOfFiveAtOnePerSecondIsSharedByTwoNodesThroughRedis) {
  RT_REQUIRE_POSTGRES();
  RT_REQUIRE_REDIS();
  SharedLimitCluster cluster;
  const ServerOptions options = cluster.node_options(1, 5);
  ServerProcess a(options), b(options);
  HttpClient http_a(a.base_url()), http_b(b.base_url());
  const std::string token = a.create_user_offline("admin", true);
  // Three through A and two through B use the one budget of five; a local limiter would allow five each.
  for (int i = 0; i < 5; ++i) {
    auto r = (i < 3 ? http_a : http_b).get("/api/v3/user", {api_token(token)});
    ASSERT_EQ(r.status, 200) << "request " << i + 1 << ": " << r.body;
  }
  // Decisions are local and shared in the background within a few milliseconds (docs/design.md, "Shared
  // rate limits off the request path"): once that has happened, both nodes know the budget is spent.
  std::this_thread::sleep_for(200ms);
  auto refused_a = http_a.get("/api/v3/user", {api_token(token)});
  auto refused_b = http_b.get("/api/v3/user", {api_token(token)});
  EXPECT_TRUE(IsApiError(refused_a, 429));
  EXPECT_TRUE(IsApiError(refused_b, 429));
  EXPECT_FALSE(refused_b.header("retry-after").empty());
  EXPECT_EQ(metric(http_a, "repotokens_ratelimit_redis_down"), 0);
  EXPECT_EQ(metric(http_a, "repotokens_ratelimit_redis_outages_total"), 0) << "present, at 0, from the start";
}

// What the shared limiter shares is what each node admitted, not a lease it holds: a node killed with its
// use reported leaves the key spent only for as long as that use takes to refill at the rule's rate.
TEST(ScaleOutRateLimits, ANodeKilledAfterSpendingTheBudgetLocksTheKeyOutOnlyUntilItRefills) {
  RT_REQUIRE_POSTGRES();
  RT_REQUIRE_REDIS();
  SharedLimitCluster cluster;
  const ServerOptions options = cluster.node_options(1, 4);
  auto a = std::make_unique<ServerProcess>(options);
  ServerProcess b(options);
  HttpClient http_b(b.base_url());
  const std::string token = a->create_user_offline("admin", true);
  // B has used the key (a node shares the state of the keys it has seen; see the bound in docs/design.md),
  // then A spends the rest of the burst.
  ASSERT_EQ(http_b.get("/api/v3/user", {api_token(token)}).status, 200);
  {
    HttpClient http_a(a->base_url());
    for (int i = 0; i < 3; ++i) ASSERT_EQ(http_a.get("/api/v3/user", {api_token(token)}).status, 200) << i;
  }
  std::this_thread::sleep_for(200ms);  // reported and pulled back (a few ms; see the test above)
  a->kill9();
  a.reset();
  auto refused = http_b.get("/api/v3/user", {api_token(token)});
  ASSERT_TRUE(IsApiError(refused, 429)) << refused.status << " " << refused.body;
  const double retry_after = std::stod(refused.header("retry-after"));
  EXPECT_LE(retry_after, 1.0) << "one request's worth at 1/s; spent budget refills, it is never held";
  // Past the Retry-After the key serves again on B, and the whole burst is back four seconds (4 at 1/s) later.
  std::this_thread::sleep_for(std::chrono::duration<double>(retry_after) + 300ms);
  EXPECT_EQ(http_b.get("/api/v3/user", {api_token(token)}).status, 200);
  std::this_thread::sleep_for(4500ms);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(http_b.get("/api/v3/user", {api_token(token)}).status, 200) << i;
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
  // The node learns of the outage from its next background report, a few milliseconds later.
  HttpResponse r;
  EXPECT_TRUE(eventually([&] { return (r = http.get("/api/v3/user", {api_token(token)})).status == 503; }, 2000ms));
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
  EXPECT_TRUE(eventually([&] { return metric(http, "repotokens_ratelimit_redis_down") == 1; }, 2000ms));
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

CommandResult repotokensd(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), REPOTOKENSD_BIN);
  return run_command(args, {}, env, 60);
}

// `admin migrate` and `admin check` speak of PostgreSQL's own schema version, and a serving node never
// migrates an existing PostgreSQL schema: it refuses an older or a newer one, saying which.
TEST(SchemaVersions, PostgresMigrateAndCheckSayWhichVersionAndServeRefusesAnyOther) {
  RT_REQUIRE_POSTGRES();
  PostgresServer pg;
  TempDir keys;
  const std::string db = pg.create_database();
  const std::string dbname = db.substr(db.rfind('/') + 1);
  const std::vector<std::string> secret = {"REPOTOKENS_SECRET_FILE=" + write_secret_file(keys.path()).string()};
  auto version_in_database = [&] { return std::stoi(pg.psql("SELECT max(version) FROM schema_migrations", dbname)); };

  CommandResult r = repotokensd({"admin", "check", "--db", db});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the PostgreSQL database has no repotokens schema (version 0)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("admin migrate"), std::string::npos) << r.err;
  const std::string empty_check = r.err;

  r = repotokensd({"admin", "migrate", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int wanted = version_in_database();
  EXPECT_EQ(r.out, "schema version " + std::to_string(wanted) + " (PostgreSQL), migrated from version 0\n");
  EXPECT_NE(empty_check.find("wants version " + std::to_string(wanted)), std::string::npos) << empty_check;
  r = repotokensd({"admin", "check", "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "schema is current (version " + std::to_string(wanted) + ", PostgreSQL)\n");

  struct Case {
    std::string sql, undo, says;
  };
  const std::string w = std::to_string(wanted), older = std::to_string(wanted - 1);
  for (const Case& c : {Case{"DELETE FROM schema_migrations WHERE version = " + w,
                             "INSERT INTO schema_migrations VALUES (" + w + ", 'restored', 0)",
                             "has schema version " + older + ", but this build of repotokensd wants version " + w},
                        Case{"INSERT INTO schema_migrations VALUES (99, 'from the future', 0)",
                             "DELETE FROM schema_migrations WHERE version = 99",
                             "has schema version 99, but this build of repotokensd wants version " + w}}) {
    SCOPED_TRACE(c.says);
    pg.psql(c.sql, dbname);
    const int at = version_in_database();
    r = repotokensd({"admin", "check", "--db", db});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("the PostgreSQL database " + c.says), std::string::npos) << r.err;
    // Neither serve nor create-user migrates it or serves on it.
    r = repotokensd({"serve", "--db", db, "--listen", "127.0.0.1:0"}, secret);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("schema version " + std::to_string(at)), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(at < wanted ? "run `repotokensd admin migrate`" : "run a newer repotokensd"), std::string::npos)
        << r.err;
    r = repotokensd({"admin", "create-user", "--db", db, "--name", "root"}, secret);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_EQ(version_in_database(), at) << "the schema was changed";
    pg.psql(c.undo, dbname);
  }
  r = repotokensd({"admin", "create-user", "--db", db, "--name", "root", "--instance-admin"}, secret);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("rtka_", 0), 0u) << r.out;
}

// A node on an empty PostgreSQL database creates the schema (no node can be serving on it yet).
TEST(SchemaVersions, PostgresServeCreatesTheSchemaOfAnEmptyDatabase) {
  RT_REQUIRE_POSTGRES();
  PostgresServer pg;
  TempDir keys;
  const std::string db = pg.create_database();
  ServerProcess node(
      ServerOptions{.db_url = db, .env = {"REPOTOKENS_SECRET_FILE=" + write_secret_file(keys.path()).string()}});
  CommandResult r = repotokensd({"admin", "check", "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("PostgreSQL"), std::string::npos);
}

// `admin check` on SQLite reads the version without migrating (and without creating a missing file).
TEST(SchemaVersions, SqliteCheckTellsAnOlderSchemaWithoutMigratingIt) {
  TempDir dir;
  const std::filesystem::path file = dir.path() / "old.db";
  const std::string db = "sqlite:" + file.string();
  CommandResult r = repotokensd({"admin", "check", "--db", db});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot open database"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(file)) << "check created the file";

  r = repotokensd({"admin", "migrate", "--db", db});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.rfind("schema version ", 0), 0u) << r.out;
  const int wanted = std::stoi(r.out.substr(15));
  EXPECT_NE(r.out.find("(SQLite)"), std::string::npos) << r.out;

  auto user_version = [&](std::optional<int> set = std::nullopt) {
    sqlite3* conn = nullptr;
    sqlite3_open(file.c_str(), &conn);
    if (set) sqlite3_exec(conn, ("PRAGMA user_version = " + std::to_string(*set)).c_str(), nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(conn, "PRAGMA user_version", -1, &st, nullptr);
    int v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(conn);
    return v;
  };
  ASSERT_EQ(user_version(wanted - 1), wanted - 1);
  r = repotokensd({"admin", "check", "--db", db});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the SQLite database has schema version " + std::to_string(wanted - 1) +
                       ", but this build of repotokensd wants version " + std::to_string(wanted)),
            std::string::npos)
      << r.err;
  EXPECT_EQ(user_version(), wanted - 1) << "check migrated the database";
  user_version(wanted);
  r = repotokensd({"admin", "check", "--db", db});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "schema is current (version " + std::to_string(wanted) + ", SQLite)\n");
}

}  // namespace
}  // namespace rt::test
