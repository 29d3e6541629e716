// `repotokensd admin copy` end to end with real processes: data made through a real repotokensd on
// SQLite, copied into a throwaway PostgreSQL, then served from there with the same key: every old token
// (account and repository) still works, listings and counts match, new ids follow the copied ones, a
// second copy is refused, and bad --from/--to/--secret-file are clear errors that change nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "support/api_fixture.h"
#include "support/pg_redis.h"

namespace rt::test {
namespace {

using nlohmann::json;

CommandResult repotokensd(std::vector<std::string> args) {
  args.insert(args.begin(), REPOTOKENSD_BIN);
  return run_command(args, {}, {"REPOTOKENS_SECRET_FILE="}, 120);
}

// The per-table lines of a successful copy: "  users   3".
std::map<std::string, std::int64_t> parse_copy_output(const std::string& out) {
  std::map<std::string, std::int64_t> copied;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  ", 0) != 0) continue;
    std::istringstream fields(line);
    std::string table;
    std::int64_t rows = -1;
    fields >> table >> rows;
    copied[table] = rows;
  }
  return copied;
}

// What a user of the API sees of the world: the listings compared before and after the move.
std::map<std::string, std::vector<json>> listings(HttpClient& http, const std::string& admin,
                                                  const std::vector<std::string>& repos) {
  std::map<std::string, std::vector<json>> seen;
  for (const std::string& path : {org_path("gh", "acme") + "/repositories", org_path("gh", "acme") + "/people",
                                 org_path("gh", "acme") + "/audit", std::string("/api/v3/user/organizations")})
    seen[path] = walk_all(http, path, admin);
  for (const auto& repo : repos) seen[repo_path("gh", "acme", repo) + "/tokens"] = walk_all(http, repo_path("gh", "acme", repo) + "/tokens", admin);
  return seen;
}

// The world built on SQLite, and what it showed before the move.
struct SqliteWorld {
  World w;
  std::vector<TestUser> users;
  std::vector<std::pair<std::string, IssuedToken>> project_tokens;  // repository, token
  IssuedToken revoked;
  std::map<std::string, std::vector<json>> listings;
  json coverage;         // listCoverageReports of "api"
  json commit_coverage;  // the commit summary of "api" (decoded from the stored report bytes)
};

const std::vector<std::string> kRepos = {"api", "web", "lib"};

// Users, an organization with a member and a grant, repositories, repository tokens (one revoked, one
// used), a coverage upload; then a clean stop (lastUsedAt flushed) and the listings as SQLite serves them.
SqliteWorld build_on_sqlite(ServerProcess& node) {
  SqliteWorld s;
  {
    HttpClient http(node.base_url());
    s.w = bootstrap_world(node, http, "acme", kRepos);
    const std::string& admin = s.w.admin.token;
    s.users = {create_user(http, admin, "alice"), create_user(http, admin, "bob")};
    set_org_role(http, admin, "gh", "acme", s.users[0].id, "member");
    grant_permission(http, admin, "gh", "acme", "api", s.users[1].id, "write");
    for (const auto& repo : kRepos)
      for (int i = 0; i < 2; ++i)
        s.project_tokens.emplace_back(
            repo, create_repository_token(http, admin, "gh", "acme", repo, {{"name", repo + "-ci-" + std::to_string(i)}}));
    s.revoked = create_repository_token(http, admin, "gh", "acme", "web", {{"name", "revoked"}});
    EXPECT_EQ(http.del(repo_path("gh", "acme", "web") + "/tokens/" + std::to_string(s.revoked.id), {api_token(admin)}).status,
              204);
    const std::string first = project_token(s.project_tokens[0].second.secret);
    EXPECT_EQ(http.get(repo_path("gh", "acme", "api"), {first}).status, 200);
    json report = {{"fileReports", {{{"filename", "src/a.go"}, {"coverage", {{"1", 1}, {"2", 0}}}}}}};
    auto up = http.request("POST", "/2.0/coverage/abc123/go", report.dump(), {first, "Content-Type: application/json"});
    EXPECT_EQ(up.status, 200) << up.body;
  }
  EXPECT_EQ(node.stop(), 0);
  node.restart();
  HttpClient http(node.base_url());
  s.listings = listings(http, s.w.admin.token, kRepos);
  s.coverage = http.get(repo_path("gh", "acme", "api") + "/coverage/status", {api_token(s.w.admin.token)}).json();
  s.commit_coverage =
      http.get(repo_path("gh", "acme", "api") + "/commits/abc123/coverage", {api_token(s.w.admin.token)}).json();
  EXPECT_EQ(node.stop(), 0);
  return s;
}

TEST(AdminCopy, SqliteToPostgresKeepsEveryTokenWorkingAndRefusesASecondCopy) {
  RT_REQUIRE_POSTGRES();
  RT_SKIP_ON_POSTGRESQL("the copy's source is a SQLite node; the SQLite run copies it into its own PostgreSQL");
  ServerProcess sqlite_node;
  const SqliteWorld before = build_on_sqlite(sqlite_node);
  const std::filesystem::path sqlite_file = sqlite_path(sqlite_node.db_url());
  std::map<std::string, std::int64_t> sqlite_counts = table_counts(sqlite_file);
  sqlite_counts.erase("schema_migrations");
  sqlite_counts.erase("sqlite_sequence");  // SQLite's own AUTOINCREMENT counters, not data
  ASSERT_GT(sqlite_counts["repository_tokens"], 0);

  PostgresServer pg;
  const std::string db = pg.create_database();
  const std::string dbname = db.substr(db.rfind('/') + 1);
  ASSERT_EQ(repotokensd({"admin", "migrate", "--db", db}).exit_code, 0);
  TempDir keys;
  const std::string shared_key = (keys.path() / "shared.key").string();
  CommandResult r =
      repotokensd({"admin", "copy", "--from", sqlite_node.db_url(), "--to", db, "--secret-file", shared_key});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--secret-file " + shared_key + " (created from the SQLite key)"), std::string::npos) << r.out;
  EXPECT_EQ(file_bytes(shared_key), file_bytes(sqlite_file.string() + ".key"));

  // Every SQLite table (coverage included) is copied, with its row count, and PostgreSQL holds as many rows.
  std::map<std::string, std::int64_t> copied = parse_copy_output(r.out);
  for (const auto& [table, rows] : sqlite_counts) {
    SCOPED_TRACE(table);
    ASSERT_TRUE(copied.count(table)) << r.out;
    EXPECT_EQ(copied[table], rows);
    EXPECT_EQ(pg.psql("SELECT count(*) FROM " + table, dbname), std::to_string(rows) + "\n");
  }
  EXPECT_EQ(copied.count("coverage_reports"), 1u);

  ServerProcess pg_node(ServerOptions{.db_url = db, .env = {"REPOTOKENS_SECRET_FILE=" + shared_key}});
  HttpClient http(pg_node.base_url());
  const std::string admin = api_token(before.w.admin.token);
  // The listings first (only the admin's account token is used, which none of them shows).
  const auto after = listings(http, before.w.admin.token, kRepos);
  for (const auto& [path, items] : before.listings) {
    EXPECT_FALSE(items.empty()) << path;
    EXPECT_EQ(after.at(path), items) << path;
  }
  EXPECT_EQ(http.get(repo_path("gh", "acme", "api") + "/coverage/status", {admin}).json(), before.coverage);
  EXPECT_FALSE(before.commit_coverage["data"]["files"].empty()) << before.commit_coverage.dump();
  EXPECT_EQ(http.get(repo_path("gh", "acme", "api") + "/commits/abc123/coverage", {admin}).json(),
            before.commit_coverage);

  // Every old credential works, the revoked one still does not.
  for (const TestUser& u : {before.w.admin, before.users[0], before.users[1]}) {
    auto me = http.get("/api/v3/user", {api_token(u.token)});
    ASSERT_EQ(me.status, 200) << u.name << ": " << me.body;
    EXPECT_EQ(me.json()["data"]["name"], u.name);
  }
  for (const auto& [repo, token] : before.project_tokens) {
    auto got = http.get(repo_path("gh", "acme", repo), {project_token(token.secret)});
    EXPECT_EQ(got.status, 200) << repo << " token " << token.id << ": " << got.body;
  }
  EXPECT_TRUE(IsApiError(http.get(repo_path("gh", "acme", "web"), {project_token(before.revoked.secret)}), 401));

  // New rows get ids after the copied ones (the identity sequences were moved past them; without that the
  // inserts would collide with copied ids).
  TestUser carol = create_user(http, before.w.admin.token, "carol");
  EXPECT_GT(carol.id, before.users[1].id);
  add_repository(http, before.w.admin.token, "gh", "acme", "new");
  IssuedToken fresh = create_repository_token(http, before.w.admin.token, "gh", "acme", "new");
  for (const auto& [repo, token] : before.project_tokens) EXPECT_GT(fresh.id, token.id);

  // A second copy is refused and changes nothing.
  const std::string users_before = pg.psql("SELECT count(*) FROM users", dbname);
  r = repotokensd({"admin", "copy", "--from", sqlite_node.db_url(), "--to", db});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the target database is not empty (users has"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("changed nothing"), std::string::npos) << r.err;
  EXPECT_EQ(pg.psql("SELECT count(*) FROM users", dbname), users_before);
}

TEST(AdminCopy, BadSourceTargetOrKeyIsAClearErrorThatChangesNothing) {
  RT_REQUIRE_POSTGRES();
  RT_SKIP_ON_POSTGRESQL("the copy's source is a SQLite node; the SQLite run copies it into its own PostgreSQL");
  ServerProcess sqlite_node;
  HttpClient http(sqlite_node.base_url());
  (void)bootstrap_world(sqlite_node, http, "acme", {"api"});
  ASSERT_EQ(sqlite_node.stop(), 0);
  const std::string from = sqlite_node.db_url();
  PostgresServer pg;
  const std::string db = pg.create_database();
  const std::string dbname = db.substr(db.rfind('/') + 1);
  TempDir keys;

  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string says;
  };
  const std::string other_key = (keys.path() / "other.key").string();
  std::ofstream(other_key) << std::string(64, 'b') << "\n";
  for (const Case& c : std::vector<Case>{
           {{"--from", db, "--to", db}, 1, "--from must name a SQLite database (sqlite:PATH)"},
           {{"--from", from, "--to", "sqlite:/tmp/x.db"}, 1, "--to must be a PostgreSQL URL (postgresql://USER@HOST/DB)"},
           {{"--from", "mysql://x", "--to", db}, 1, "--from must name a SQLite database"},
           {{"--from", "sqlite:" + (keys.path() / "absent.db").string(), "--to", db}, 1, "cannot open database"},
           {{"--from", from}, 2, "--to is required"},
           {{"--from", from, "--to", db}, 1, "the target PostgreSQL database has no repotokens schema"},
       }) {
    std::vector<std::string> args = {"admin", "copy"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CommandResult r = repotokensd(args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.says << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(keys.path() / "absent.db"));

  ASSERT_EQ(repotokensd({"admin", "migrate", "--db", db}).exit_code, 0);
  // A key file that is not the one the tokens were hashed with would make every copied token useless.
  CommandResult r = repotokensd({"admin", "copy", "--from", from, "--to", db, "--secret-file", other_key});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("holds another key than " + sqlite_path(from).string() + ".key"), std::string::npos) << r.err;
  EXPECT_EQ(pg.psql("SELECT count(*) FROM users", dbname), "0\n");
  // A copy that fails does not leave a newly created key file behind.
  const std::string new_key = (keys.path() / "new.key").string();
  pg.psql("INSERT INTO users(name, created_at) VALUES ('squatter', 0)", dbname);
  r = repotokensd({"admin", "copy", "--from", from, "--to", db, "--secret-file", new_key});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not empty"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(new_key));
  EXPECT_EQ(pg.psql("SELECT count(*) FROM users", dbname), "1\n");
}

}  // namespace
}  // namespace rt::test
