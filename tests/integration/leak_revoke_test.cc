// POST /api/v3/tokens/revoke against a real server: anyone holding a secret revokes it without any
// credential, and the answer (204, empty) is the same for a match, an unknown token and a malformed one;
// a match is refused at once afterwards and shows as `token.leaked` in the organization's audit log;
// malformed ones are only counted; bad bodies are 400s; the endpoint is rate limited per address.
#include <gtest/gtest.h>

#include "core/secret.h"
#include "support/api_fixture.h"

namespace rt::test {
namespace {

const std::string kRevoke = "/api/v3/tokens/revoke";

// The `token.leaked` entries of an organization's audit log, as its admin sees them.
std::vector<nlohmann::json> leaked_entries(HttpClient& http, const std::string& admin_token) {
  std::vector<nlohmann::json> out;
  for (auto& e : walk_all(http, org_path("gh", "acme") + "/audit", admin_token))
    if (e["action"] == "token.leaked") out.push_back(e);
  return out;
}

class LeakRevoke : public ::testing::Test {
 protected:
  ServerProcess server;
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api"});
  std::string repo() const { return repo_path("gh", "acme", "api"); }
};

TEST_F(LeakRevoke, RepositoryTokenIsRevokedByAnyoneHoldingItAndAudited) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "ci"}});
  auto kept = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "other"}});
  ASSERT_EQ(http.get(repo(), {project_token(t.secret)}).status, 200);

  HttpClient stranger{server.base_url()};  // no credential at all
  auto r = stranger.post(kRevoke, {{"token", t.secret}, {"location", "https://paste.example/abc"}, {"source", "paste"}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.body, "");

  EXPECT_TRUE(IsApiError(http.get(repo(), {project_token(t.secret)}), 401)) << "the leaked token still works";
  EXPECT_EQ(http.get(repo(), {project_token(kept.secret)}).status, 200) << "another token of the repository was revoked";

  auto entries = leaked_entries(http, w.admin.token);
  ASSERT_EQ(entries.size(), 1u);
  const std::string description = entries[0]["description"];
  EXPECT_NE(description.find("https://paste.example/abc"), std::string::npos) << description;
  EXPECT_NE(description.find("paste"), std::string::npos) << description;
  EXPECT_EQ(entries[0]["target"], "gh/acme/api#token:" + std::to_string(t.id));
  EXPECT_EQ(entries[0]["actorName"], "leak-report:anyone");
  EXPECT_EQ(entries[0].dump().find(t.secret), std::string::npos) << "the audit entry holds the secret";
  EXPECT_EQ(server.log().find(t.secret), std::string::npos) << "the server logged the secret";

  // Reporting it again answers the same, and audits nothing more: it is no longer a token of ours.
  EXPECT_EQ(stranger.post(kRevoke, {{"token", t.secret}}).status, 204);
  EXPECT_EQ(leaked_entries(http, w.admin.token).size(), 1u);
}

TEST_F(LeakRevoke, AccountTokenIsRevokedAndEachOfItsOwnersOrganizationsIsTold) {
  TestUser ada = create_user(http, w.admin.token, "ada");
  set_org_role(http, w.admin.token, "gh", "acme", ada.id, "member");
  ASSERT_EQ(http.get("/api/v3/user", {api_token(ada.token)}).status, 200);

  HttpClient stranger{server.base_url()};
  // A URL that carries the secret itself is redacted in the audit log.
  auto r = stranger.post(kRevoke, {{"token", ada.token}, {"location", "https://ci.example/log?t=" + ada.token}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(IsApiError(http.get("/api/v3/user", {api_token(ada.token)}), 401));
  EXPECT_EQ(http.get("/api/v3/user", {api_token(w.admin.token)}).status, 200);

  auto entries = leaked_entries(http, w.admin.token);
  ASSERT_EQ(entries.size(), 1u);
  const std::string target = entries[0]["target"];
  EXPECT_EQ(target.rfind("user:ada#token:", 0), 0u) << target;
  EXPECT_EQ(entries[0].dump().find(ada.token), std::string::npos) << "the audit entry holds the secret";
  EXPECT_NE(entries[0]["description"].get<std::string>().find("https://ci.example/log?t=rtka_[redacted]"),
            std::string::npos)
      << entries[0].dump();
}

TEST_F(LeakRevoke, UnknownAndMalformedTokensGetTheSameAnswerAndChangeNothing) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  const auto before = table_counts(server.db_url());
  SystemRandom random;
  std::string mistyped = t.secret;
  mistyped[10] = mistyped[10] == 'a' ? 'b' : 'a';  // checksum no longer matches
  const std::vector<std::string> secrets = {generate_token(TokenKind::repository, random),
                                            generate_token(TokenKind::account, random), mistyped,
                                            "rtka_short", "ghp_notours", "", std::string(5000, 'x')};
  for (const std::string& s : secrets) {
    auto r = http.post(kRevoke, {{"token", s}});
    EXPECT_EQ(r.status, 204) << r.body;
    EXPECT_EQ(r.body, "");
  }
  EXPECT_EQ(table_counts(server.db_url()), before) << "a report of a token that is not ours stored something";
  EXPECT_EQ(http.get(repo(), {project_token(t.secret)}).status, 200) << "a mistyped secret revoked the real one";
  auto metrics = http.get("/metrics").body;
  EXPECT_NE(metrics.find("repotokens_leak_reports_total{channel=\"anyone\",format=\"malformed\"} 5"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("repotokens_leak_reports_total{channel=\"anyone\",format=\"well-formed\"} 2"),
            std::string::npos)
      << metrics;
}

TEST_F(LeakRevoke, BadBodiesAreRefusedWithAClearMessage) {
  struct Case {
    std::string body;
    std::string says;
  };
  const std::vector<Case> cases = {{"not json", "not valid JSON"},
                                   {"", "body is required"},
                                   {"[\"rtka_x\"]", "JSON object"},
                                   {"{}", "token"},
                                   {R"({"token": 42})", "token"},
                                   {R"({"token": "x", "location": 7})", "location"}};
  for (const Case& c : cases) {
    auto r = http.request("POST", kRevoke, c.body, {"Content-Type: application/json"});
    ASSERT_TRUE(IsApiError(r, 400)) << c.body;
    EXPECT_NE(r.json()["message"].get<std::string>().find(c.says), std::string::npos) << c.body << " -> " << r.body;
  }
  auto big = http.request("POST", kRevoke, std::string(2 << 20, ' '), {"Content-Type: application/json"});
  EXPECT_EQ(big.status, 413) << big.body;
}

TEST(LeakRevokeLimits, ReportsAreRateLimitedPerAddress) {
  ServerProcess server({.extra_args = {"--rate-limit-per-address", "1", "--rate-burst-per-address", "3"}});
  HttpClient http{server.base_url()};
  SystemRandom random;
  int refused = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = http.post(kRevoke, {{"token", generate_token(TokenKind::repository, random)}});
    if (r.status == 429) {
      ++refused;
      EXPECT_FALSE(r.header("retry-after").empty());
    } else {
      EXPECT_EQ(r.status, 204) << r.body;
    }
  }
  EXPECT_GE(refused, 2) << "six reports in a burst of three were all accepted";
}

}  // namespace
}  // namespace rt::test
