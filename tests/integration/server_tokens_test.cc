// Token life cycle against a real server: expiry (refused with an error that says "expired", distinct
// from unknown and revoked), lastUsedAt recorded after use (batched, so polled with a bounded loop), and
// the format of the secrets that create hands out.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "core/secret.h"
#include "core/time.h"
#include "support/api_fixture.h"

namespace rt::test {
namespace {

using namespace std::chrono_literals;

class Tokens : public ::testing::Test {
 protected:
  ServerProcess server;
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api", "web"});
  std::string admin() const { return api_token(w.admin.token); }
  std::string repo(const std::string& name) const { return repo_path("gh", "acme", name); }
};

TEST_F(Tokens, ExpiredRepositoryTokenIsRefusedAsExpired) {
  // A short policy, and a token that expires in a few seconds.
  ASSERT_EQ(http.put(org_path("gh", "acme") + "/settings/tokens", {{"defaultLifetimeDays", 1}, {"maxLifetimeDays", 2}},
                     {admin()}).status, 200);
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"expiresAt", rfc3339_from_now(3)}});
  auto revoked = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  ASSERT_EQ(http.del(repo("api") + "/tokens/" + std::to_string(revoked.id), {admin()}).status, 204);
  EXPECT_EQ(http.get(repo("api"), {project_token(t.secret)}).status, 200);

  HttpResponse last;
  ASSERT_TRUE(eventually([&] {
    last = http.get(repo("api"), {project_token(t.secret)});
    return last.status != 200;
  })) << "the token never expired";
  ASSERT_TRUE(IsApiError(last, 401));
  std::string expired_message = last.json()["message"];
  EXPECT_NE(expired_message.find("expired"), std::string::npos) << last.body;
  EXPECT_EQ(last.body.find(t.secret), std::string::npos) << "the refusal echoes the secret";

  auto r = http.get(repo("api"), {project_token(revoked.secret)});
  ASSERT_TRUE(IsApiError(r, 401));
  EXPECT_EQ(r.json()["message"].get<std::string>().find("expired"), std::string::npos) << r.body;
  rt::SystemRandom random;
  r = http.get(repo("api"), {project_token(rt::generate_token(rt::TokenKind::repository, random))});
  ASSERT_TRUE(IsApiError(r, 401));
  EXPECT_EQ(r.json()["message"].get<std::string>().find("expired"), std::string::npos) << r.body;
}

TEST_F(Tokens, ExpiredAccountTokenIsRefusedAsExpired) {
  auto r = http.post("/api/v3/user/tokens", {{"expiresAt", rfc3339_from_now(3)}}, {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  std::string secret = r.json()["token"];
  EXPECT_EQ(http.get("/api/v3/user", {api_token(secret)}).status, 200);
  HttpResponse last;
  ASSERT_TRUE(eventually([&] {
    last = http.get("/api/v3/user", {api_token(secret)});
    return last.status != 200;
  }));
  ASSERT_TRUE(IsApiError(last, 401));
  EXPECT_NE(last.json()["message"].get<std::string>().find("expired"), std::string::npos) << last.body;
}

TEST_F(Tokens, LastUsedAtIsSetAfterUse) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "used"}});
  auto idle = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "idle"}});
  auto find = [&](std::int64_t id) {
    auto list = http.get(repo("api") + "/tokens", {admin()}).json();
    for (const auto& item : list["data"])
      if (item["id"] == id) return item;
    return nlohmann::json();
  };
  auto before = find(t.id);
  ASSERT_TRUE(before.is_object());
  EXPECT_TRUE(!before.contains("lastUsedAt") || before["lastUsedAt"].is_null()) << before;

  ASSERT_EQ(http.get(repo("api"), {project_token(t.secret)}).status, 200);
  nlohmann::json after;
  EXPECT_TRUE(eventually([&] {
    after = find(t.id);
    return after.contains("lastUsedAt") && after["lastUsedAt"].is_string();
  }, 10s)) << "lastUsedAt never appeared: " << after;
  if (after["lastUsedAt"].is_string()) {
    auto used = rt::parse_rfc3339(after["lastUsedAt"].get<std::string>());
    ASSERT_TRUE(used.has_value()) << after;
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    EXPECT_NEAR(static_cast<double>(*used), static_cast<double>(now.count()), 30);
  }
  auto untouched = find(idle.id);
  EXPECT_TRUE(!untouched.contains("lastUsedAt") || untouched["lastUsedAt"].is_null()) << untouched;
}

TEST_F(Tokens, SecretsAreWellFormedAndDistinct) {
  std::set<std::string> secrets;
  for (int i = 0; i < 20; ++i) {
    auto t = create_repository_token(http, w.admin.token, "gh", "acme", i % 2 ? "api" : "web");
    EXPECT_EQ(t.secret.size(), rt::kTokenLength) << t.secret.size();
    EXPECT_EQ(t.secret.rfind("rtkr_", 0), 0u);
    EXPECT_TRUE(rt::check_token_format(t.secret).ok());
    secrets.insert(t.secret);
  }
  EXPECT_EQ(secrets.size(), 20u);
  // A token that fails its checksum is refused without being looked up, and never echoed.
  std::string mistyped = *secrets.begin();
  mistyped[10] = mistyped[10] == 'x' ? 'y' : 'x';
  auto r = http.get(repo("api"), {project_token(mistyped)});
  EXPECT_TRUE(IsApiError(r, 401));
  EXPECT_EQ(r.body.find(mistyped), std::string::npos);
}

TEST_F(Tokens, ProjectTokenSurvivesRestart) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  server.restart();
  HttpClient again(server.base_url());
  EXPECT_EQ(again.get(repo("api"), {project_token(t.secret)}).status, 200);
  EXPECT_EQ(again.get("/api/v3/user", {admin()}).status, 200);
}

}  // namespace
}  // namespace rt::test
