// Ids are never reused (docs/design.md): against a real server on either store, a token created after a
// revocation gets a new id, so a retried or stale DELETE of the old id is a 404 and never revokes a token
// nobody meant to touch; the same for repositories, and across a restart.
#include <gtest/gtest.h>

#include <memory>

#include "support/api_fixture.h"
#include "support/raw_socket.h"

namespace rt::test {
namespace {

std::int64_t created_id(const std::string& response) {
  auto j = nlohmann::json::parse(response_body(response), nullptr, false);
  if (j.is_object() && j.contains("data")) j = j["data"];
  if (!j.is_object()) return 0;
  for (const char* key : {"id", "repositoryId"})
    if (j.contains(key)) return j[key].get<std::int64_t>();
  return 0;
}

TEST(Ids, ARevokedIdIsNeverGivenToTheNextTokenSoAStaleDeleteFindsNothing) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-ids", {"r1"});
  const std::string tokens = repo_path("gh", "acme-ids", "r1") + "/tokens";
  const std::vector<std::string> auth = {api_token(w.admin.token), "Content-Type: application/json"};
  auto conn = std::make_unique<RawConnection>(server.port());
  auto status = [&](const std::string& method, const std::string& path, const std::string& body = {}) {
    return response_status(conn->exchange(raw_request(method, path, auth, body)));
  };
  // The largest id seen so far of each kind; every new one must be above it.
  std::int64_t token_floor = 0, account_floor = 0, repository_floor = 0;

  for (int round = 0; round < 2; ++round) {
    // Repository tokens.
    std::string a = conn->exchange(raw_request("POST", tokens, auth, R"({"name":"ci"})"));
    ASSERT_EQ(response_status(a), 201) << a;
    const std::int64_t first = created_id(a);
    EXPECT_GT(first, token_floor) << "round " << round;
    ASSERT_EQ(status("DELETE", tokens + "/" + std::to_string(first)), 204);
    std::string b = conn->exchange(raw_request("POST", tokens, auth, R"({"name":"ci"})"));
    ASSERT_EQ(response_status(b), 201) << b;
    const std::int64_t second = created_id(b);
    EXPECT_GT(second, first) << "a revoked repository token's id was handed out again";
    // The retried DELETE of the first id: nothing to revoke, and the new token lives on.
    EXPECT_EQ(status("DELETE", tokens + "/" + std::to_string(first)), 404);
    std::string secret = nlohmann::json::parse(response_body(b))["data"]["token"];
    EXPECT_EQ(response_status(conn->exchange(raw_request("GET", repo_path("gh", "acme-ids", "r1"), {project_token(secret)}))),
              200);
    ASSERT_EQ(status("DELETE", tokens + "/" + std::to_string(second)), 204);
    token_floor = second;

    // Account tokens.
    std::string c = conn->exchange(raw_request("POST", "/api/v3/user/tokens", auth, "{}"));
    ASSERT_EQ(response_status(c), 200) << c;
    const std::int64_t account = created_id(c);
    EXPECT_GT(account, account_floor) << "round " << round;
    ASSERT_EQ(status("DELETE", "/api/v3/user/tokens/" + std::to_string(account)), 204);
    std::string d = conn->exchange(raw_request("POST", "/api/v3/user/tokens", auth, "{}"));
    EXPECT_GT(created_id(d), account) << d;
    EXPECT_EQ(status("DELETE", "/api/v3/user/tokens/" + std::to_string(account)), 404);
    ASSERT_EQ(status("DELETE", "/api/v3/user/tokens/" + std::to_string(created_id(d))), 204);
    account_floor = created_id(d);

    // Repositories, deleted and added again under the same name.
    const std::string add = R"({"provider":"gh","repositoryFullPath":"acme-ids/again"})";
    std::string e = conn->exchange(raw_request("POST", "/api/v3/repositories", auth, add));
    ASSERT_EQ(response_status(e), 200) << e;  // addRepository: 200 and a bare Repository, as Codacy's document
    EXPECT_GT(created_id(e), repository_floor) << e;
    ASSERT_EQ(status("DELETE", repo_path("gh", "acme-ids", "again")), 204);
    std::string f = conn->exchange(raw_request("POST", "/api/v3/repositories", auth, add));
    ASSERT_EQ(response_status(f), 200) << f;
    EXPECT_GT(created_id(f), created_id(e)) << f;
    ASSERT_EQ(status("DELETE", repo_path("gh", "acme-ids", "again")), 204);
    repository_floor = created_id(f);

    // Round two runs after a restart, when the largest ids of every kind belong to deleted rows.
    if (round == 0) {
      conn.reset();
      server.restart();
      conn = std::make_unique<RawConnection>(server.port());
    }
  }
}

}  // namespace
}  // namespace rt::test
