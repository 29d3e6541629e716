// The shared Store suite instantiated for SQLite (on a real file, with and without group commit), and the
// SQLite-only behaviour: database URLs, bad files, migrations, a newer schema, WAL readers, stored bytes.
#include <sqlite3.h>

#include <fstream>
#include <iterator>
#include <thread>

#include "core/secret.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/writer.h"
#include "store_test.h"

namespace rt::testing {
namespace {

StoreFactory sqlite_factory(bool group_commit) {
  return StoreFactory{
      .name = group_commit ? "sqlite" : "sqlite_one_transaction_per_write",
      .fresh_url = [](const std::filesystem::path& dir) { return "sqlite:" + (dir / "store.db").string(); },
      .options = StoreOptions{.read_connections = 4, .group_commit = group_commit, .create_if_missing = true}};
}

// A PostgreSQL factory joins here when src/store/postgres/ exists.
INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(sqlite_factory(true), sqlite_factory(false)),
                         [](const ::testing::TestParamInfo<StoreFactory>& info) { return info.param.name; });

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Direct access to the file, bypassing the store.
class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
  }
  std::vector<std::string> column(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const void* p = sqlite3_column_blob(stmt, 0);
      out.emplace_back(static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("repotokens-sqlite-"); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path path(const std::string& name) const { return dir_ / name; }
  std::filesystem::path dir_;
};

TEST_F(SqliteStoreTest, OpensTheUrlFormsAndRefusesOthers) {
  EXPECT_TRUE(open_store("sqlite:" + path("a.db").string()).ok());
  EXPECT_TRUE(open_store(path("bare.db").string()).ok());
  EXPECT_TRUE(std::filesystem::exists(path("bare.db")));

  // postgresql:// and postgres:// URLs belong to the PostgreSQL store and its own tests.
  for (const char* bad : {"mysql://db", "notes.txt", "sqlite:", "", "http://x/y.db"}) {
    auto r = open_store(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid) << bad;
    EXPECT_NE(r.error().message.find("sqlite:PATH"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(open_store("sqlite::memory:").error().kind, ErrorKind::invalid);
}

TEST_F(SqliteStoreTest, AFileThatIsNotADatabaseIsUnavailableAndUntouched) {
  std::string junk;
  for (int i = 0; i < 200; ++i) junk += "this is not a database, just some text\n";
  { std::ofstream(path("junk.db"), std::ios::binary) << junk; }
  auto r = open_store("sqlite:" + path("junk.db").string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unavailable);
  EXPECT_NE(r.error().message.find(path("junk.db").string()), std::string::npos) << r.error().message;
  EXPECT_EQ(read_file(path("junk.db")), junk);
}

TEST_F(SqliteStoreTest, AMissingFileOrFolderIsUnavailable) {
  auto no_dir = open_store("sqlite:" + path("no/such/dir/x.db").string());
  ASSERT_FALSE(no_dir.ok());
  EXPECT_EQ(no_dir.error().kind, ErrorKind::unavailable);
  EXPECT_NE(no_dir.error().message.find("no/such/dir/x.db"), std::string::npos);

  auto no_create = open_store("sqlite:" + path("absent.db").string(), StoreOptions{.create_if_missing = false});
  ASSERT_FALSE(no_create.ok());
  EXPECT_EQ(no_create.error().kind, ErrorKind::unavailable);
  EXPECT_FALSE(std::filesystem::exists(path("absent.db")));
}

TEST_F(SqliteStoreTest, OpeningAppliesMissingMigrationsAndKeepsData) {
  {
    auto conn = must(sqlite::Connection::open(path("old.db").string(), {}));
    ASSERT_TRUE(sqlite::migrate(*conn, 1).ok());
    EXPECT_EQ(must(sqlite::schema_version(*conn)), 1);
    ASSERT_TRUE(conn->execute("INSERT INTO users(name, created_at) VALUES ('early', 1)").ok());
  }
  {
    RawDb raw(path("old.db"));
    EXPECT_TRUE(raw.column("SELECT name FROM sqlite_schema WHERE name = 'repository_tokens_live'").empty());
  }
  auto store = must(open_store("sqlite:" + path("old.db").string()));
  EXPECT_EQ(must(store->get_user(1)).name, "early");
  store.reset();

  RawDb raw(path("old.db"));
  EXPECT_EQ(raw.column("SELECT name FROM sqlite_schema WHERE name = 'repository_tokens_live'").size(), 1u);
  EXPECT_EQ(raw.column("PRAGMA user_version"), std::vector<std::string>{std::to_string(sqlite::latest_schema_version())});
  std::vector<std::string> every_step;  // each migration once, in order
  for (int v = 1; v <= sqlite::latest_schema_version(); ++v) every_step.push_back(std::to_string(v));
  EXPECT_EQ(raw.column("SELECT version FROM schema_migrations ORDER BY version"), every_step);
  EXPECT_EQ(raw.column("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

// Databases made before ids were AUTOINCREMENT (schema 3) keep every id, foreign key, index and row across
// the migration, and from then on no id is handed out twice.
TEST_F(SqliteStoreTest, TheAutoincrementMigrationKeepsIdsAndNeverReusesThem) {
  {
    auto conn = must(sqlite::Connection::open(path("v3.db").string(), {}));
    ASSERT_TRUE(sqlite::migrate(*conn, 3).ok());
    ASSERT_TRUE(conn->execute_script(R"sql(
INSERT INTO users(id, name, created_at) VALUES (1, 'ann', 1), (7, 'bob', 1);
INSERT INTO organizations(id, provider, name, remote_identifier, type, created_at, default_lifetime_days,
                          max_lifetime_days) VALUES (4, 'gh', 'acme', 'acme', 'Organization', 1, 30, 365);
INSERT INTO memberships(org_id, user_id, role) VALUES (4, 7, 'admin');
INSERT INTO repositories(id, org_id, name, visibility, remote_identifier, created_at, updated_at)
  VALUES (5, 4, 'api', 'Private', '', 1, 1), (8, 4, 'web', 'Private', '', 1, 1);
INSERT INTO repository_permissions(repository_id, user_id, permission) VALUES (8, 1, 'write');
INSERT INTO audit_events(id, org_id, at, actor, action, target, details) VALUES (11, 4, 1, 'user:bob', 'x', 't', '');
)sql").ok());
    const std::pair<Id, Id> account[] = {{3, 1}, {9, 7}};  // (token id, user id)
    for (auto [id, user] : account)
      ASSERT_TRUE(conn->execute("INSERT INTO account_tokens(id, user_id, hash, created_at) VALUES (?1, ?2, ?3, 1)",
                                {id, user, test_hash(static_cast<std::uint32_t>(id))}).ok());
    const std::pair<Id, Id> repository[] = {{2, 5}, {6, 8}, {12, 5}};  // (token id, repository id)
    for (auto [id, repo] : repository)
      ASSERT_TRUE(conn->execute("INSERT INTO repository_tokens(id, repository_id, name, hash, created_at, expires_at) "
                                "VALUES (?1, ?2, 'ci' || ?1, ?3, 1, 4000000000)",
                                {id, repo, test_hash(static_cast<std::uint32_t>(id))}).ok());
    ASSERT_TRUE(conn->execute("DELETE FROM repository_tokens WHERE id = 2").ok());  // below the largest id
  }
  auto store = must(open_store("sqlite:" + path("v3.db").string()));
  EXPECT_EQ(must(store->get_user(7)).name, "bob");
  EXPECT_EQ(must(store->get_repository_by_id(8)).name, "web");
  EXPECT_EQ(must(store->find_repository_token(test_hash(12))).id, 12);
  EXPECT_EQ(must(store->find_repository_token(test_hash(6))).repository_id, 8);
  EXPECT_EQ(must(store->find_account_token(test_hash(9))).user.id, 7);
  EXPECT_EQ(must(store->get_permission(8, 1)), Permission::write);
  EXPECT_EQ(must(store->get_role(4, 7)), OrgRole::admin);
  // Migration 6 counted the repositories that were already there.
  EXPECT_EQ(must(store->list_repositories(RepositoryQuery{.org_id = 4, .limit = 1})).total, 2);

  // New rows continue above the largest id each table ever had.
  auto fresh = must(store->create_repository_token(
      NewRepositoryToken{.repository_id = 5, .name = "new", .hash = test_hash(100), .created_at = 2,
                         .expires_at = 4000000000},
      2, kMaxLiveTokensPerRepository, audit_event(4, "repository.token.create")));
  EXPECT_EQ(fresh.id, 13);
  EXPECT_EQ(must(store->create_account_token(1, test_hash(101), 2, std::nullopt)).id, 10);
  EXPECT_EQ(must(store->create_user(NewUser{.name = "cy", .email = std::nullopt, .is_admin = false, .created_at = 2})).id, 8);
  std::vector<Id> doomed{13};
  ASSERT_EQ(must(store->delete_repository_tokens(5, doomed, audit_event(4, "repository.token.revoke"))), 1);
  EXPECT_EQ(must(store->create_repository_token(
                     NewRepositoryToken{.repository_id = 5, .name = "newer", .hash = test_hash(102), .created_at = 2,
                                        .expires_at = 4000000000},
                     2, kMaxLiveTokensPerRepository, audit_event(4, "repository.token.create")))
                .id,
            14);
  // Deleting a repository still cascades to its tokens (the foreign keys survived the table rebuild).
  ASSERT_TRUE(store->delete_repository(8, audit_event(4, "repository.delete")).ok());
  EXPECT_EQ(store->find_repository_token(test_hash(6)).error().kind, ErrorKind::not_found);
  EXPECT_EQ(must(store->list_repositories(RepositoryQuery{.org_id = 4, .limit = 1})).total, 1);
  store.reset();

  RawDb raw(path("v3.db"));
  EXPECT_TRUE(raw.column("PRAGMA foreign_key_check").empty());
  EXPECT_EQ(raw.column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  // Every table with an id now counts in sqlite_sequence, and every index is still there.
  for (const char* table : {"users", "account_tokens", "organizations", "repositories", "repository_tokens",
                            "audit_events", "coverage_reports", "coverage_uploads"}) {
    auto sql = raw.column(std::string("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = '") + table + "'");
    ASSERT_EQ(sql.size(), 1u) << table;
    EXPECT_NE(sql[0].find("AUTOINCREMENT"), std::string::npos) << table << ": " << sql[0];
  }
  for (const char* index : {"account_tokens_by_user", "memberships_by_user", "repository_permissions_by_user",
                            "repository_tokens_by_repository", "audit_events_by_org", "repository_tokens_live",
                            "repository_tokens_by_name", "coverage_uploads_by_repository", "coverage_uploads_by_commit"})
    EXPECT_EQ(raw.column(std::string("SELECT name FROM sqlite_schema WHERE type = 'index' AND name = '") + index + "'").size(),
              1u)
        << index;
  // The counter starts at the highest id the table held, so no id is handed out twice.
  EXPECT_EQ(raw.column("SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'"),
            raw.column("SELECT max(id) FROM audit_events"));
}

TEST_F(SqliteStoreTest, ADatabaseWithANewerSchemaIsRefused) {
  const std::string url = "sqlite:" + path("future.db").string();
  must(must(open_store(url))->create_user(NewUser{.name = "keep"}));
  RawDb(path("future.db")).exec("PRAGMA user_version = 99");

  auto r = open_store(url);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unavailable);
  EXPECT_NE(r.error().message.find("schema version 99, newer than this build"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(path("future.db").string()), std::string::npos);
  RawDb raw(path("future.db"));
  EXPECT_EQ(raw.column("SELECT name FROM users"), std::vector<std::string>{"keep"});
  EXPECT_EQ(raw.column("PRAGMA user_version"), std::vector<std::string>{"99"});
}

TEST_F(SqliteStoreTest, ReadsAreNotBlockedByAnOpenWriteTransaction) {
  auto store = must(open_store("sqlite:" + path("wal.db").string()));
  User u = must(store->create_user(NewUser{.name = "reader"}));
  RawDb writer(path("wal.db"));
  writer.exec("BEGIN IMMEDIATE");
  writer.exec("INSERT INTO users(name, created_at) VALUES ('uncommitted', 1)");
  // Were readers blocked, these would wait out the busy timeout and fail as unavailable.
  EXPECT_EQ(must(store->get_user(u.id)).name, "reader");
  EXPECT_EQ(store->get_user(u.id + 1).error().kind, ErrorKind::not_found);
  writer.exec("ROLLBACK");
}

// A write that fails after it has already changed rows is undone alone; the writes batched with it commit.
TEST_F(SqliteStoreTest, GroupCommitRollsBackOnlyTheFailingWrite) {
  for (bool group : {true, false}) {
    const auto db = path(group ? "group.db" : "single.db");
    {
      auto conn = must(sqlite::Connection::open(db.string(), {}));
      ASSERT_TRUE(sqlite::migrate(*conn).ok());
      sqlite::Writer writer(std::move(conn), group);
      constexpr int kThreads = 32;
      std::vector<Status> results(kThreads, ok_status());
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
          results[t] = writer.submit([t](sqlite::Connection& c) -> Status {
            auto r = c.execute("INSERT INTO users(name, created_at) VALUES (?1, 1)", {"w" + std::to_string(t)});
            if (!r.ok()) return r.error();
            if (t % 2) return make_error(ErrorKind::conflict, "refused " + std::to_string(t));
            return ok_status();
          });
        });
      for (auto& th : threads) th.join();
      for (int t = 0; t < kThreads; ++t) {
        if (t % 2) {
          ASSERT_FALSE(results[t].ok());
          EXPECT_EQ(results[t].error().message, "refused " + std::to_string(t));
        } else {
          EXPECT_TRUE(results[t].ok()) << results[t].error().message;
        }
      }
    }
    RawDb raw(db);
    auto names = raw.column("SELECT name FROM users ORDER BY CAST(substr(name, 2) AS INTEGER)");
    std::vector<std::string> expected;
    for (int t = 0; t < 32; t += 2) expected.push_back("w" + std::to_string(t));
    EXPECT_EQ(names, expected) << (group ? "group commit" : "one transaction per write");
  }
}

TEST_F(SqliteStoreTest, TheFilesHoldTheKeyedHashesAndNeverTheSecrets) {
  const std::filesystem::path db = path("secrets.db");
  auto store = must(open_store("sqlite:" + db.string()));
  SystemRandom random;
  SecretHasher hasher(generate_secret_key(random));
  User u = must(store->create_user(NewUser{.name = "owner"}));
  Organization o = must(store->create_organization(NewOrganization{.name = "acme"}, u.id, audit_event({}, "o")));
  Repository r = must(store->create_repository(NewRepository{.org_id = o.id, .name = "api"}, audit_event(o.id, "r")));

  std::vector<std::string> secrets;
  std::vector<std::string> hashes;
  for (int i = 0; i < 20; ++i) {
    std::string secret = generate_token(i % 2 ? TokenKind::repository : TokenKind::account, random);
    SecretHash h = hasher.hash_token(secret);
    if (i % 2)
      must(store->create_repository_token(NewRepositoryToken{.repository_id = r.id, .name = "t" + std::to_string(i),
                                                             .hash = h, .created_at = 1, .expires_at = 9'999'999'999},
                                          1, 100, audit_event(o.id, "t")));
    else
      must(store->create_account_token(u.id, h, 1, std::nullopt));
    secrets.push_back(secret);
    hashes.emplace_back(reinterpret_cast<const char*>(h.data()), h.size());
  }

  auto check_files = [&](bool expect_hashes) {
    std::string bytes = read_file(db);
    if (std::filesystem::exists(db.string() + "-wal")) bytes += read_file(db.string() + "-wal");
    for (const auto& secret : secrets) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << "a secret is in the database files";
      EXPECT_EQ(bytes.find(secret.substr(5, kTokenBodyLength)), std::string::npos) << "a secret body is stored";
    }
    if (expect_hashes) {
      for (const auto& h : hashes) EXPECT_NE(bytes.find(h), std::string::npos) << "a hash is missing";
    }
  };
  check_files(true);

  // What is stored in the hash columns is exactly the keyed hash of each secret, nothing else.
  RawDb raw(db);
  auto stored = raw.column("SELECT hash FROM account_tokens UNION ALL SELECT hash FROM repository_tokens");
  std::sort(stored.begin(), stored.end());
  std::sort(hashes.begin(), hashes.end());
  EXPECT_EQ(stored, hashes);

  store.reset();  // the last connection checkpoints the WAL into the main file
  check_files(true);
}

}  // namespace
}  // namespace rt::testing
