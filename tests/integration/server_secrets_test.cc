// Secrets at rest and in logs: after issuing account and repository tokens, neither what the database keeps
// on disk (the SQLite file with its -wal and -shm; the PostgreSQL cluster's files, WAL included) nor the
// server's log contains any secret (or its random body), while they do contain ordinary data (so the search
// looks at the right bytes). On SQLite the hashing key is created beside the db, mode 0600.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "support/api_fixture.h"

namespace rt::test {
namespace {

TEST(SecretsAtRest, DatabaseAndLogNeverHoldASecret) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-secrets", {"vault-repo", "other-repo"});
  std::vector<std::string> secrets = {w.admin.token};
  TestUser u = create_user(http, w.admin.token, "keeper");
  secrets.push_back(u.token);
  for (int i = 0; i < 3; ++i) {
    auto r = http.post("/api/v3/user/tokens", nlohmann::json::object(), {api_token(w.admin.token)});
    ASSERT_EQ(r.status, 200) << r.body;
    secrets.push_back(r.json()["token"]);
  }
  for (int i = 0; i < 10; ++i) {
    auto t = create_repository_token(http, w.admin.token, "gh", "acme-secrets", i % 2 ? "vault-repo" : "other-repo");
    secrets.push_back(t.secret);
    long status = http.get(repo_path("gh", "acme-secrets", "vault-repo"), {project_token(t.secret)}).status;
    EXPECT_EQ(status == 200, i % 2 == 1) << "token of the " << (i % 2 ? "same" : "other") << " repository: " << status;
  }
  // One revoked, and one presented after revocation (an error path that must not echo or log it).
  auto gone = create_repository_token(http, w.admin.token, "gh", "acme-secrets", "vault-repo");
  secrets.push_back(gone.secret);
  ASSERT_EQ(http.del(repo_path("gh", "acme-secrets", "vault-repo") + "/tokens/" + std::to_string(gone.id),
                     {api_token(w.admin.token)}).status, 204);
  auto refused = http.get(repo_path("gh", "acme-secrets", "vault-repo"), {project_token(gone.secret)});
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.body.find(gone.secret), std::string::npos);

  auto check = [&](const std::string& when) {
    std::string bytes = stored_bytes(server.db_url());
    EXPECT_NE(bytes.find("vault-repo"), std::string::npos) << when << ": the search reads the wrong bytes";
    std::string log = server.log();
    for (const auto& s : secrets) {
      std::string body = s.substr(5, 43);  // the random part, without prefix and checksum
      EXPECT_EQ(bytes.find(body), std::string::npos) << when << ": a token secret is stored in the database";
      EXPECT_EQ(log.find(body), std::string::npos) << when << ": a token secret is in the server log";
    }
  };
  check("while running");
  EXPECT_EQ(server.stop(), 0);
  check("after shutdown");
}

TEST(SecretsAtRest, SqliteKeyFileIsCreatedBesideTheDatabaseOwnerOnly) {
  RT_SKIP_ON_POSTGRESQL("the key file beside the database is SQLite's default; PostgreSQL requires --secret-file");
  ServerProcess server;
  EXPECT_EQ(server.stop(), 0);
  auto db = sqlite_path(server.db_url());
  struct stat st{};
  ASSERT_EQ(stat((db.string() + ".key").c_str(), &st), 0) << "no key file beside the database";
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

}  // namespace
}  // namespace rt::test
