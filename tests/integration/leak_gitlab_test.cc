// GitLab's token revocation API against a real server (GET /v1/revocable_token_types, POST
// /v1/revoke_tokens at the server root): the pre-shared Authorization token from the configuration admits
// GitLab, a wrong or missing one is a 401 that revokes nothing, a match is revoked and audited with its
// location, and a server without the setting answers 404 saying how to enable it.
#include <gtest/gtest.h>

#include "core/secret.h"
#include "support/api_fixture.h"

namespace rt::test {
namespace {

const std::string kShared = "gitlab-shared-7d1f0c9a8b2e4f6a1c3d5e7f9a0b2c4d";

class LeakGitLab : public ::testing::Test {
 protected:
  ServerProcess server{{.env = {"REPOTOKENS_GITLAB_REVOCATION_TOKEN=" + kShared}}};
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api"});
  std::string repo() const { return repo_path("gh", "acme", "api"); }
  HttpResponse revoke(const nlohmann::json& batch, const std::string& authorization) {
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (!authorization.empty()) headers.push_back("Authorization: " + authorization);
    return http.request("POST", "/v1/revoke_tokens", batch.dump(), headers);
  }
};

TEST_F(LeakGitLab, TokenTypesNeedTheSharedToken) {
  auto r = http.get("/v1/revocable_token_types", {"Authorization: " + kShared});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), (nlohmann::json{{"types", {"repotokens_account_token", "repotokens_repository_token"}}}));
  EXPECT_TRUE(IsApiError(http.get("/v1/revocable_token_types"), 401));
  EXPECT_TRUE(IsApiError(http.get("/v1/revocable_token_types", {"Authorization: " + kShared + "x"}), 401));
}

TEST_F(LeakGitLab, AMatchIsRevokedAndAuditedWithItsLocation) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  TestUser bob = create_user(http, w.admin.token, "bob");
  set_org_role(http, w.admin.token, "gh", "acme", bob.id, "member");
  SystemRandom random;
  nlohmann::json batch = nlohmann::json::array(
      {{{"type", "repotokens_repository_token"}, {"token", t.secret}, {"location", "https://gitlab.example/a/b/-/blob/main/ci.yml"}},
       {{"type", "repotokens_account_token"}, {"token", bob.token}, {"location", "https://gitlab.example/a/b/-/issues/3"}},
       {{"type", "repotokens_repository_token"}, {"token", generate_token(TokenKind::repository, random)}},
       {{"type", "repotokens_account_token"}, {"token", "rtka_nonsense"}}});
  auto r = revoke(batch, kShared);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.body, "");
  EXPECT_TRUE(IsApiError(http.get(repo(), {project_token(t.secret)}), 401));
  EXPECT_TRUE(IsApiError(http.get("/api/v3/user", {api_token(bob.token)}), 401));

  int leaked = 0;
  for (auto& e : walk_all(http, org_path("gh", "acme") + "/audit", w.admin.token)) {
    if (e["action"] != "token.leaked") continue;
    ++leaked;
    EXPECT_EQ(e["actorName"], "leak-report:gitlab");
    EXPECT_NE(e["description"].get<std::string>().find("https://gitlab.example/a/b/-/"), std::string::npos) << e.dump();
  }
  EXPECT_EQ(leaked, 2);
}

TEST_F(LeakGitLab, AWrongOrMissingAuthorizationRevokesNothing) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  nlohmann::json batch = nlohmann::json::array({{{"type", "repotokens_repository_token"}, {"token", t.secret}}});
  for (const std::string& auth : {std::string(), kShared.substr(0, kShared.size() - 1), kShared + "0", "Bearer " + kShared}) {
    auto r = revoke(batch, auth);
    ASSERT_TRUE(IsApiError(r, 401)) << "Authorization '" << auth << "'";
    EXPECT_EQ(r.body.find(t.secret), std::string::npos);
  }
  EXPECT_EQ(http.get(repo(), {project_token(t.secret)}).status, 200) << "an unauthorized call revoked the token";
}

TEST_F(LeakGitLab, BadBatchesAreRefused) {
  const std::vector<std::string> bodies = {"not json", "{}", "[]", "[1]", R"([{"type": "x"}])",
                                           R"([{"token": "rtka_x", "location": 5}])"};
  for (const std::string& body : bodies) {
    auto r = http.request("POST", "/v1/revoke_tokens", body, {"Authorization: " + kShared});
    EXPECT_TRUE(IsApiError(r, 400)) << body << " -> " << r.body;
  }
  nlohmann::json many = nlohmann::json::array();
  for (int i = 0; i < 1001; ++i) many.push_back({{"type", "repotokens_account_token"}, {"token", "rtka_x"}});
  auto r = revoke(many, kShared);
  ASSERT_TRUE(IsApiError(r, 400));
  EXPECT_NE(r.json()["message"].get<std::string>().find("1 to 1000"), std::string::npos) << r.body;
}

TEST(LeakGitLabOff, WithoutTheSettingTheApiSaysHowToEnableIt) {
  ServerProcess server;
  HttpClient http{server.base_url()};
  for (auto r : {http.get("/v1/revocable_token_types", {"Authorization: anything"}),
                 http.request("POST", "/v1/revoke_tokens", "[]", {"Authorization: anything"})}) {
    ASSERT_TRUE(IsApiError(r, 404)) << r.body;
    EXPECT_NE(r.json()["message"].get<std::string>().find("--gitlab-revocation-token"), std::string::npos) << r.body;
  }
}

TEST(LeakGitLabOff, AShortSharedTokenIsRefusedAtStartWithoutRepeatingIt) {
  auto r = run_command({repotokensd_under_test(), "serve", "--db", "sqlite::memory:", "--gitlab-revocation-token",
                        "short-secret-value"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--gitlab-revocation-token"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("short-secret-value"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace rt::test
