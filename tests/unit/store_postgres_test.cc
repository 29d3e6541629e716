// The shared Store suite instantiated for PostgreSQL (a throwaway cluster, one fresh database per test),
// and the PostgreSQL-only behaviour: URLs, migrations and schema checks, two nodes racing on the
// live-token rules and on parts of one coverage report, and riding out a database restart without
// reopening the store.
#include <atomic>
#include <latch>
#include <set>
#include <thread>

#include "store/coverage_store.h"
#include "store/postgres/postgres_store.h"
#include "store_test.h"
#include "support/pg_redis.h"

namespace rt::testing {
namespace {

// One cluster for the whole test program, started on first use and stopped when the program exits.
test::PostgresServer& cluster() {
  static std::unique_ptr<test::PostgresServer> server = std::make_unique<test::PostgresServer>();
  return *server;
}

std::vector<StoreFactory> postgres_factories() {
  if (!test::postgres_unavailable_reason().empty()) return {};  // PostgresAvailability says why
  return {StoreFactory{.name = "postgresql",
                       .fresh_url = [](const std::filesystem::path&) { return cluster().create_database(); },
                       .options = StoreOptions{.read_connections = 4, .group_commit = true,
                                               .create_if_missing = true}}};
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreTest, ::testing::ValuesIn(postgres_factories()),
                         [](const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreTest);

TEST(PostgresAvailability, ServerBinariesArePresent) {
  RT_REQUIRE_POSTGRES();
  SUCCEED();
}

constexpr UnixTime kNow = 1'800'000'000;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RT_REQUIRE_POSTGRES();
    url_ = cluster().create_database();
  }
  std::unique_ptr<Store> open(StoreOptions options = {}) { return must(open_postgres_store(url_, options), "open"); }
  std::string url_;
};

NewRepositoryToken token(Id repository_id, const std::string& name, std::uint32_t n) {
  return NewRepositoryToken{.repository_id = repository_id, .name = name, .hash = test_hash(n), .created_at = kNow,
                            .expires_at = kNow + 3600};
}

TEST_F(PostgresStoreTest, OpenStoreRoutesBothUrlSchemes) {
  for (std::string scheme : {"postgresql://", "postgres://"}) {
    std::string url = scheme + url_.substr(std::string("postgresql://").size());
    auto store = open_store(url);
    ASSERT_TRUE(store.ok()) << url << ": " << store.error().message;
    std::string name = "via-" + scheme.substr(0, scheme.size() - 3);
    EXPECT_EQ(must((*store)->create_user(NewUser{.name = name})).name, name);
  }
}

TEST_F(PostgresStoreTest, AnUnreachableServerIsUnavailableAndThePasswordIsNotShown) {
  int port = cluster().port();
  // Nothing listens on port 1; a wrong database name is refused by the server itself.
  for (std::string url : {std::string("postgresql://rt:hunter2@127.0.0.1:1/x"),
                          "postgresql://postgres:hunter2@127.0.0.1:" + std::to_string(port) + "/no_such_db"}) {
    auto r = open_postgres_store(url, {});
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().kind, ErrorKind::unavailable) << r.error().message;
    EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  }
}

TEST_F(PostgresStoreTest, MigratesOnceAndChecksTheSchemaVersion) {
  // Without create_if_missing an empty database is refused with the versions and what to run.
  auto unmigrated = open_postgres_store(url_, StoreOptions{.create_if_missing = false});
  ASSERT_FALSE(unmigrated.ok());
  EXPECT_EQ(unmigrated.error().kind, ErrorKind::unavailable);
  EXPECT_NE(unmigrated.error().message.find("schema version 0"), std::string::npos) << unmigrated.error().message;
  EXPECT_NE(unmigrated.error().message.find("admin migrate"), std::string::npos);

  // Several nodes starting at once: each step is applied exactly once.
  std::vector<std::thread> nodes;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i)
    nodes.emplace_back([&] { opened += open_postgres_store(url_, {}).ok() ? 1 : 0; });
  for (auto& t : nodes) t.join();
  EXPECT_EQ(opened.load(), 4);
  std::string db = url_.substr(url_.rfind('/') + 1);
  std::string every_step;
  for (int v = 1; v <= postgres_schema_version(); ++v) every_step += (v > 1 ? "," : "") + std::to_string(v);
  EXPECT_EQ(cluster().psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations", db),
            every_step + "\n");
  EXPECT_EQ(postgres_schema_version(), 9);  // this build's: 5 repository counts, 6 webhooks, 7 CI trust, 8 expiry notices, 9 one live-token index
  EXPECT_TRUE(open_postgres_store(url_, StoreOptions{.create_if_missing = false}).ok());

  // A database from a newer repotokens is refused either way, and left as it is.
  cluster().psql("INSERT INTO schema_migrations VALUES (99, 'future', 0)", db);
  for (bool migrate : {true, false}) {
    auto r = open_postgres_store(url_, StoreOptions{.create_if_missing = migrate});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::unavailable);
    EXPECT_NE(r.error().message.find("schema version 99"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(cluster().psql("SELECT count(*) FROM schema_migrations", db), std::to_string(postgres_schema_version() + 1) + "\n");
}

TEST_F(PostgresStoreTest, ANodeThatMustNotMigrateCreatesAnEmptySchemaButRefusesAnOlderOne) {
  const StoreOptions serving{.migrate_existing = false};
  // Nodes starting together on an empty database: one creates the schema, the others find it current.
  std::vector<std::thread> nodes;
  std::atomic<int> opened{0};
  for (int i = 0; i < 3; ++i)
    nodes.emplace_back([&] { opened += open_postgres_store(url_, serving).ok() ? 1 : 0; });
  for (auto& t : nodes) t.join();
  EXPECT_EQ(opened.load(), 3);
  std::string db = url_.substr(url_.rfind('/') + 1);
  const std::string latest = std::to_string(postgres_schema_version());
  EXPECT_EQ(cluster().psql("SELECT max(version) FROM schema_migrations", db), latest + "\n");

  // An older schema (another build's nodes may serve on it) is left alone and refused, saying what to run.
  cluster().psql("DELETE FROM schema_migrations WHERE version = " + latest, db);
  auto r = open_postgres_store(url_, serving);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unavailable);
  EXPECT_NE(r.error().message.find("admin migrate"), std::string::npos) << r.error().message;
  EXPECT_EQ(cluster().psql("SELECT max(version) FROM schema_migrations", db),
            std::to_string(postgres_schema_version() - 1) + "\n");
  cluster().psql("INSERT INTO schema_migrations VALUES (" + latest + ", 'restored', 0)", db);
  EXPECT_TRUE(open_postgres_store(url_, serving).ok()) << "a current schema is served";
}

// A user "owner", its organization "acme" and the repositories `names` of it, created through `store`.
std::vector<Repository> add_repositories(Store& store, std::initializer_list<const char*> names) {
  User u = must(store.create_user(NewUser{.name = "owner"}));
  Organization o = must(store.create_organization(NewOrganization{.name = "acme"}, u.id, audit_event({}, "o")));
  std::vector<Repository> out;
  for (const char* name : names)
    out.push_back(must(store.create_repository(NewRepository{.org_id = o.id, .name = name}, audit_event(o.id, "r"))));
  return out;
}

// Two stores on one database behave as two nodes: each has its own pool and connections.
TEST_F(PostgresStoreTest, TwoNodesRacingLeaveAtMostMaxLiveTokensAndOneWinnerPerName) {
  auto a = open(StoreOptions{.read_connections = 8});
  auto b = open(StoreOptions{.read_connections = 8});
  auto repos = add_repositories(*a, {"limit", "names"});
  const Repository &limit_repo = repos[0], &name_repo = repos[1];
  const Id org_id = limit_repo.org_id;

  constexpr int kThreads = 16, kPerThread = 10;  // 160 attempts at a limit of 100
  std::atomic<int> created{0}, limited{0}, same_name_won{0}, same_name_lost{0}, other_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Store& node = t % 2 ? *a : *b;
      for (int i = 0; i < kPerThread; ++i) {
        std::uint32_t n = static_cast<std::uint32_t>(t * 1000 + i);
        auto r = node.create_repository_token(token(limit_repo.id, "t" + std::to_string(n), n), kNow, 100,
                                              audit_event(org_id, "create"));
        if (r.ok()) ++created;
        else if (r.error().kind == ErrorKind::conflict) ++limited;
        else ++other_errors;
        // Every thread also tries the same name on another repository.
        auto s = node.create_repository_token(token(name_repo.id, "deploy", 100000 + n), kNow, 100,
                                              audit_event(org_id, "create"));
        if (s.ok()) ++same_name_won;
        else if (s.error().kind == ErrorKind::conflict) ++same_name_lost;
        else ++other_errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(created.load(), 100);
  EXPECT_EQ(limited.load(), kThreads * kPerThread - 100);
  EXPECT_EQ(same_name_won.load(), 1);
  EXPECT_EQ(same_name_lost.load(), kThreads * kPerThread - 1);
  EXPECT_EQ(must(b->list_repository_tokens(limit_repo.id, std::nullopt, 1000)).total, 100);
  EXPECT_EQ(must(a->list_repository_tokens(name_repo.id, std::nullopt, 1000)).total, 1);
}

// Concurrent creations are written in batches: several tokens share a transaction (its id is the rows'
// xmin), every token has its audit row, and tokens of one repository never share a batch.
TEST_F(PostgresStoreTest, ConcurrentCreationsShareTransactionsAndKeepTheirAuditRows) {
  auto store = open(StoreOptions{.read_connections = 8});
  std::vector<Repository> repos = add_repositories(*store, {"a", "b", "c", "d", "e", "f", "g", "h"});
  const Id org_id = repos[0].org_id;
  constexpr int kThreads = 32, kEach = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::uint32_t n = static_cast<std::uint32_t>(t * 1000 + i);
        auto r = store->create_repository_token(token(repos[(t + i) % repos.size()].id, "t" + std::to_string(n), n),
                                                kNow, 1000, audit_event(org_id, "repository.token.create"));
        if (!r.ok()) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const std::string db = url_.substr(url_.rfind('/') + 1);
  EXPECT_EQ(cluster().psql("SELECT count(*) FROM repository_tokens", db), std::to_string(kThreads * kEach) + "\n");
  EXPECT_EQ(cluster().psql("SELECT count(*) FROM audit_events WHERE action = 'repository.token.create'", db),
            std::to_string(kThreads * kEach) + "\n");
  const int transactions = std::stoi(cluster().psql("SELECT count(DISTINCT xmin::text) FROM repository_tokens", db));
  EXPECT_LT(transactions, kThreads * kEach / 2) << "creations were not batched";
  EXPECT_EQ(cluster().psql("SELECT count(*) FROM (SELECT 1 FROM repository_tokens GROUP BY xmin::text, repository_id"
                           " HAVING count(*) > 1) x", db),
            "0\n");
  // Each batch's audit rows are in its transaction too.
  EXPECT_EQ(cluster().psql("SELECT count(DISTINCT xmin::text) FROM audit_events WHERE action = 'repository.token.create'",
                           db),
            std::to_string(transactions) + "\n");
}

// Migration 9 on a database made by the previous build: the two live-token indexes become one, and the
// rules they serve still hold on the tokens made before.
TEST_F(PostgresStoreTest, MigrationNineMergesTheLiveTokenIndexesOfAnUpgradedDatabase) {
  const std::string db = url_.substr(url_.rfind('/') + 1);
  Repository repo;
  {
    auto store = open();
    repo = add_repositories(*store, {"api"})[0];
    must(store->create_repository_token(token(repo.id, "deploy", 1), kNow, 2, audit_event(repo.org_id, "c")));
  }
  // Back to version 8's indexes, as a database last migrated by the previous build has them.
  cluster().psql("DROP INDEX repository_tokens_live_names;"
                 " CREATE INDEX repository_tokens_live ON repository_tokens(repository_id, expires_at);"
                 " CREATE INDEX repository_tokens_by_name ON repository_tokens(repository_id, name, expires_at);"
                 " DELETE FROM schema_migrations WHERE version = 9",
                 db);
  auto refused = open_postgres_store(url_, StoreOptions{.migrate_existing = false});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("schema version 8"), std::string::npos) << refused.error().message;

  auto store = open();
  EXPECT_EQ(cluster().psql("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes"
                           " WHERE tablename = 'repository_tokens' AND indexname LIKE 'repository_tokens_live%'"
                           " OR indexname = 'repository_tokens_by_name'",
                           db),
            "repository_tokens_live_names\n");
  auto same_name = store->create_repository_token(token(repo.id, "deploy", 2), kNow, 2, audit_event(repo.org_id, "c"));
  ASSERT_FALSE(same_name.ok());
  EXPECT_EQ(same_name.error().message, "a live token named deploy already exists on this repository");
  must(store->create_repository_token(token(repo.id, "second", 3), kNow, 2, audit_event(repo.org_id, "c")));
  auto over = store->create_repository_token(token(repo.id, "third", 4), kNow, 2, audit_event(repo.org_id, "c"));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message, "repository already has 2 live tokens, the maximum; revoke one first");
}

EncodedCoverage one_file_report(const std::string& name, std::vector<LineHits> lines) {
  CoverageEncoder e;
  e.add_file(name, lines);
  return std::move(e).finish();
}

// Parts of one report uploaded at once through two nodes, the first ones racing to create the report row:
// every part is merged, none overwrites another.
TEST_F(PostgresStoreTest, TwoNodesRacingPartialUploadsOfOneReportLoseNoPart) {
  auto a = open(StoreOptions{.read_connections = 8});
  auto b = open(StoreOptions{.read_connections = 8});
  const Repository repo = add_repositories(*a, {"api"})[0];

  constexpr int kThreads = 16, kParts = 5;
  std::latch start(kThreads);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      CoverageStore& node = (t % 2 ? *a : *b).coverage();
      start.arrive_and_wait();
      for (int i = 0; i < kParts; ++i) {
        // Each part: one line of a file shared by all parts, and a file of its own.
        CoverageEncoder e;
        std::vector<LineHits> shared{{1, 1}}, own{{static_cast<std::uint32_t>(i + 1), 1}};
        e.add_file("shared.go", shared);
        e.add_file("t" + std::to_string(t) + ".go", own);
        auto r = node.save_coverage(CoverageWrite{.repository_id = repo.id, .commit = "abc", .language = "go",
                                                  .partial = true, .report = std::move(e).finish(), .bytes = 1,
                                                  .at = kNow, .audit = std::nullopt});
        if (!r.ok()) {
          ++errors;
          ADD_FAILURE() << r.error().message;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(errors.load(), 0);

  auto reports = must(a->coverage().get_commit_coverage(repo.id, "abc"));
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_FALSE(reports[0].final);
  EXPECT_EQ(reports[0].files, kThreads + 1);
  EXPECT_EQ(reports[0].coverable, 1 + kThreads * kParts);
  auto files = must(decode_coverage(reports[0].data));
  ASSERT_EQ(files.size(), static_cast<size_t>(kThreads + 1));
  for (const auto& f : files) {
    if (f.name == "shared.go") EXPECT_EQ(f.lines, (std::vector<LineHits>{{1, kThreads * kParts}}));
    else EXPECT_EQ(f.lines.size(), static_cast<size_t>(kParts)) << f.name;
  }
  // The final notification from the other node shows every upload with the report's final state.
  EXPECT_EQ(must(b->coverage().finalize_coverage(repo.id, "abc", kNow + 1, std::nullopt)), 1);
  auto log = must(b->coverage().list_coverage_uploads(repo.id, 1000));
  ASSERT_EQ(log.size(), static_cast<size_t>(kThreads * kParts));
  for (const auto& up : log) {
    EXPECT_EQ(up.status, CoverageStatus::final);
    EXPECT_EQ(up.files, kThreads + 1);
  }
}

TEST_F(PostgresStoreTest, StoresCoverageReportsAsBytesOutOfLine) {
  auto store = open();
  const Repository repo = add_repositories(*store, {"api"})[0];
  std::vector<LineHits> lines;
  for (std::uint32_t i = 1; i <= 200000; ++i) lines.emplace_back(i, i % 7 == 0 ? 0 : i % 300);
  auto report = one_file_report("src/big.go", lines);
  must(store->coverage().save_coverage(CoverageWrite{.repository_id = repo.id, .commit = "abc", .language = "go",
                                                     .partial = false, .report = report, .bytes = 1, .at = kNow,
                                                     .audit = std::nullopt}));
  auto stored = must(store->coverage().get_commit_coverage(repo.id, "abc"));
  ASSERT_EQ(stored.size(), 1u);
  // Every byte value, NULs included, as it was sent (compared as a whole: a diff of megabytes helps nobody).
  EXPECT_TRUE(stored[0].data == report.data) << stored[0].data.size() << " bytes read, " << report.data.size()
                                             << " written";
  std::string db = url_.substr(url_.rfind('/') + 1);
  EXPECT_EQ(cluster().psql("SELECT octet_length(data) FROM coverage_reports", db),
            std::to_string(report.data.size()) + "\n");
  // Also read correctly from a server that writes bytea in the old escape form.
  cluster().psql("ALTER DATABASE " + db + " SET bytea_output = 'escape'", db);
  auto escaped = open();
  EXPECT_TRUE(must(escaped->coverage().get_commit_coverage(repo.id, "abc"))[0].data == report.data);
}

TEST_F(PostgresStoreTest, RidesOutARestartOfTheDatabaseWithoutReopening) {
  auto store = open(StoreOptions{.read_connections = 4});
  User u = must(store->create_user(NewUser{.name = "before"}));
  // Fill the pool with idle connections that the restart will kill.
  std::vector<std::thread> warm;
  for (int i = 0; i < 4; ++i) warm.emplace_back([&] { (void)store->get_user(u.id); });
  for (auto& t : warm) t.join();

  cluster().stop();
  auto down_read = store->get_user(u.id);
  ASSERT_FALSE(down_read.ok());
  EXPECT_EQ(down_read.error().kind, ErrorKind::unavailable) << down_read.error().message;
  auto down_write = store->create_user(NewUser{.name = "during"});
  ASSERT_FALSE(down_write.ok());
  EXPECT_EQ(down_write.error().kind, ErrorKind::unavailable) << down_write.error().message;

  cluster().start();
  // The first calls after the restart succeed: dead pooled connections are replaced transparently.
  for (int i = 0; i < 8; ++i) {
    auto r = store->get_user(u.id);
    ASSERT_TRUE(r.ok()) << "call " << i << ": " << r.error().message;
    EXPECT_EQ(r->name, "before");
  }
  EXPECT_TRUE(store->create_user(NewUser{.name = "after"}).ok());
  EXPECT_TRUE(store->create_user(NewUser{.name = "during"}).ok());  // the failed write left nothing
}

TEST_F(PostgresStoreTest, StoresKeyedHashesAsBytesAndNamesInByteOrder) {
  auto store = open();
  User u = must(store->create_user(NewUser{.name = "owner"}));
  Organization o = must(store->create_organization(NewOrganization{.name = "acme"}, u.id, audit_event({}, "o")));
  // Byte order (COLLATE "C"), as SQLite sorts: upper case before lower case, whatever the cluster locale.
  for (const char* name : {"beta", "Zeta", "alpha", "Alpha"})
    must(store->create_repository(NewRepository{.org_id = o.id, .name = name}, audit_event(o.id, "r")));
  auto page = must(store->list_repositories(RepositoryQuery{.org_id = o.id, .limit = 10}));
  std::vector<std::string> names;
  for (const auto& v : page.items) names.push_back(v.repository.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Alpha", "Zeta", "alpha", "beta"}));

  Repository r = must(store->get_repository(o.id, "beta"));
  must(store->create_repository_token(token(r.id, "ci", 7), kNow, 100, audit_event(o.id, "t")));
  std::string db = url_.substr(url_.rfind('/') + 1);
  EXPECT_EQ(cluster().psql("SELECT encode(hash, 'hex') FROM repository_tokens", db), to_hex(test_hash(7)) + "\n");
}

}  // namespace
}  // namespace rt::testing
