// Every v3 endpoint and repotokens extension of API.md (coverage aside), each driven against a real
// repotokensd on SQLite: the success status, the envelope and the shapes a Codacy client relies on.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>

#include "core/secret.h"
#include "core/time.h"
#include "support/api_fixture.h"

namespace rt::test {
namespace {

std::set<std::string> names_of(const nlohmann::json& list) {
  std::set<std::string> out;
  for (const auto& item : list) out.insert(item.value("name", ""));
  return out;
}

std::set<std::int64_t> ids_of(const nlohmann::json& list) {
  std::set<std::int64_t> out;
  for (const auto& item : list) out.insert(item.value("id", std::int64_t{0}));
  return out;
}

std::int64_t seconds_until(const std::string& rfc3339) {
  auto t = rt::parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(0) - std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
}

class Endpoints : public ::testing::Test {
 protected:
  ServerProcess server;
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api", "web", "docs"});
  std::string admin() const { return api_token(w.admin.token); }
  std::string repo(const std::string& name) const { return repo_path("gh", "acme", name); }
};

TEST_F(Endpoints, HealthAndVersionNeedNoAuth) {
  auto r = http.get("/api/v3/health");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.json()["data"]["message"].is_string()) << r.body;
  r = http.get("/api/v3/version");
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(r.json()["data"].is_string()) << r.body;
  EXPECT_FALSE(r.json()["data"].get<std::string>().empty());
}

TEST_F(Endpoints, GetUser) {
  auto r = http.get("/api/v3/user", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  auto u = r.json()["data"];
  EXPECT_EQ(u["name"], "admin");
  EXPECT_EQ(u["isAdmin"], true);
  EXPECT_TRUE(u["id"].is_number_integer());
  EXPECT_TRUE(u["created"].is_string());
  EXPECT_TRUE(IsApiError(http.get("/api/v3/user"), 401));
}

TEST_F(Endpoints, AccountTokensCreateListUseDelete) {
  auto r = http.post("/api/v3/user/tokens", nlohmann::json::object(), {admin()});
  ASSERT_EQ(r.status, 200) << r.body;  // Codacy's spec: 200 and a bare ApiToken
  auto plain = r.json();
  EXPECT_FALSE(plain.contains("data")) << r.body;
  std::string secret = plain.value("token", "");
  EXPECT_TRUE(rt::check_token_format(secret).ok()) << r.body;
  EXPECT_EQ(secret.rfind("rtka_", 0), 0u);

  r = http.post("/api/v3/user/tokens", {{"expiresAt", rfc3339_from_now(86400)}}, {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  auto expiring = r.json();
  ASSERT_TRUE(expiring["expiresAt"].is_string()) << r.body;
  EXPECT_NEAR(seconds_until(expiring["expiresAt"]), 86400, 5);

  r = http.get("/api/v3/user/tokens", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  auto list = r.json();
  auto ids = ids_of(list["data"]);
  EXPECT_TRUE(ids.count(plain["id"].get<std::int64_t>()));
  EXPECT_TRUE(ids.count(expiring["id"].get<std::int64_t>()));
  EXPECT_EQ(list["pagination"]["total"], list["data"].size());
  for (const auto& t : list["data"]) EXPECT_FALSE(t.contains("token")) << t;
  EXPECT_EQ(r.body.find(secret), std::string::npos) << "a listing echoed a secret";

  EXPECT_EQ(http.get("/api/v3/user", {api_token(secret)}).status, 200);
  r = http.del("/api/v3/user/tokens/" + std::to_string(plain["id"].get<std::int64_t>()), {admin()});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(IsApiError(http.get("/api/v3/user", {api_token(secret)}), 401));
  EXPECT_TRUE(IsApiError(http.del("/api/v3/user/tokens/" + std::to_string(plain["id"].get<std::int64_t>()),
                                  {admin()}), 404));
}

TEST_F(Endpoints, OrganizationsAddListGet) {
  auto r = http.post("/api/v3/organizations", {{"provider", "gl"}, {"name", "second"}}, {admin()});
  ASSERT_EQ(r.status, 200) << r.body;  // Codacy's AddOrganizationResponse
  EXPECT_EQ(r.json()["warnings"], nlohmann::json::array());
  auto org = r.json()["organization"];
  EXPECT_EQ(org["name"], "second");
  EXPECT_EQ(org["provider"], "gl");
  EXPECT_TRUE(org.contains("identifier"));
  EXPECT_EQ(org["remoteIdentifier"], "second");  // defaults to the name
  EXPECT_EQ(org["type"], "Organization");
  EXPECT_TRUE(IsApiError(http.post("/api/v3/organizations", {{"provider", "gl"}, {"name", "second"}}, {admin()}),
                         409));

  r = http.get("/api/v3/user/organizations", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(names_of(r.json()["data"]), (std::set<std::string>{"acme", "second"}));
  EXPECT_EQ(r.json()["pagination"]["total"], 2);
  r = http.get("/api/v3/user/organizations/gl", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(names_of(r.json()["data"]), (std::set<std::string>{"second"}));

  r = http.get(org_path("gh", "acme"), {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"]["organization"]["name"], "acme");
  EXPECT_EQ(r.json()["data"]["organization"]["provider"], "gh");
  EXPECT_EQ(r.json()["data"]["membership"]["userRole"], "admin");
  EXPECT_TRUE(IsApiError(http.get(org_path("gh", "nope"), {admin()}), 404));
  EXPECT_TRUE(IsApiError(http.get(org_path("gl", "acme"), {admin()}), 404));  // same name, other provider
}

TEST_F(Endpoints, RepositoriesAddListFilterGetDelete) {
  auto r = http.post("/api/v3/repositories",
                     {{"provider", "gh"}, {"repositoryFullPath", "acme/site"}, {"visibility", "Public"},
                      {"languages", {"Go", "TypeScript"}}},
                     {admin()});
  ASSERT_EQ(r.status, 200) << r.body;  // Codacy: a bare Repository
  ASSERT_FALSE(r.json().contains("data")) << r.body;
  auto created = r.json();
  EXPECT_EQ(created["name"], "site");
  EXPECT_EQ(created["owner"], "acme");
  EXPECT_EQ(created["fullPath"], "acme/site");
  EXPECT_EQ(created["provider"], "gh");
  EXPECT_EQ(created["visibility"], "Public");
  EXPECT_TRUE(created["repositoryId"].is_number_integer());
  EXPECT_TRUE(IsApiError(http.post("/api/v3/repositories", {{"provider", "gh"}, {"repositoryFullPath", "acme/site"}},
                                   {admin()}), 409));
  EXPECT_TRUE(IsApiError(http.post("/api/v3/repositories", {{"provider", "gh"}, {"repositoryFullPath", "ghost/x"}},
                                   {admin()}), 404));

  r = http.get(org_path("gh", "acme") + "/repositories", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(names_of(r.json()["data"]), (std::set<std::string>{"api", "web", "docs", "site"}));
  EXPECT_EQ(r.json()["pagination"]["total"], 4);
  EXPECT_EQ(r.json()["pagination"]["limit"], 100);
  EXPECT_FALSE(r.json()["pagination"].contains("cursor"));

  r = http.get(org_path("gh", "acme") + "/repositories?search=we", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(names_of(r.json()["data"]), (std::set<std::string>{"web"}));
  r = http.get(org_path("gh", "acme") + "/repositories?filter=Public", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(names_of(r.json()["data"]), (std::set<std::string>{"site"}));
  r = http.get(org_path("gh", "acme") + "/repositories?languages=Go", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(names_of(r.json()["data"]), (std::set<std::string>{"site"}));

  r = http.get(repo("site"), {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  auto got = r.json()["data"];
  EXPECT_EQ(got["repositoryId"], created["repositoryId"]);
  EXPECT_EQ(got["fullPath"], "acme/site");
  EXPECT_EQ(got["languages"], nlohmann::json({"Go", "TypeScript"}));
  EXPECT_EQ(got["addedState"], "Added");

  EXPECT_EQ(http.del(repo("site"), {admin()}).status, 204);
  EXPECT_TRUE(IsApiError(http.get(repo("site"), {admin()}), 404));
  EXPECT_TRUE(IsApiError(http.del(repo("site"), {admin()}), 404));
  r = http.get(org_path("gh", "acme") + "/repositories", {admin()});
  EXPECT_EQ(r.json()["pagination"]["total"], 3);
}

TEST_F(Endpoints, PeopleRolesAndRemoval) {
  TestUser bob = create_user(http, w.admin.token, "bob");
  EXPECT_TRUE(IsApiError(http.get(repo("api"), {api_token(bob.token)}), 404));
  set_org_role(http, w.admin.token, "gh", "acme", bob.id, "member");

  auto r = http.get(org_path("gh", "acme") + "/people", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  std::map<std::string, std::string> roles;
  auto listed = r.json();
  for (const auto& m : listed["data"]) roles[m.value("name", "")] = m.value("role", "");
  EXPECT_EQ(roles, (std::map<std::string, std::string>{{"admin", "admin"}, {"bob", "member"}}));
  r = http.get(org_path("gh", "acme") + "/people?search=bo", {api_token(bob.token)});  // members may list
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json()["data"].size(), 1u) << r.body;
  EXPECT_EQ(r.json()["data"][0]["userId"], bob.id);

  r = http.get(org_path("gh", "acme"), {api_token(bob.token)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"]["membership"]["userRole"], "member");
  EXPECT_TRUE(IsApiError(http.post("/api/v3/repositories", {{"provider", "gh"}, {"repositoryFullPath", "acme/bobs"}},
                                   {api_token(bob.token)}), 403));

  set_org_role(http, w.admin.token, "gh", "acme", bob.id, "admin");
  add_repository(http, bob.token, "gh", "acme", "bobs");
  EXPECT_EQ(http.get(repo("api"), {api_token(bob.token)}).status, 200);  // org admin sees every repository

  EXPECT_EQ(http.del(org_path("gh", "acme") + "/people/" + std::to_string(bob.id), {admin()}).status, 204);
  EXPECT_TRUE(IsApiError(http.get(repo("api"), {api_token(bob.token)}), 404));
}

TEST_F(Endpoints, RepositoryPermissionGrant) {
  TestUser carol = create_user(http, w.admin.token, "carol");
  set_org_role(http, w.admin.token, "gh", "acme", carol.id, "member");
  EXPECT_TRUE(IsApiError(http.get(repo("web"), {api_token(carol.token)}), 404));
  grant_permission(http, w.admin.token, "gh", "acme", "web", carol.id, "read");
  auto r = http.get(repo("web"), {api_token(carol.token)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"].value("permission", "read"), "read");
  r = http.get(org_path("gh", "acme") + "/repositories", {api_token(carol.token)});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(names_of(r.json()["data"]), (std::set<std::string>{"web"}));
  EXPECT_EQ(r.json()["pagination"]["total"], 1);
  EXPECT_TRUE(IsApiError(http.put(repo("web") + "/people/" + std::to_string(carol.id), {{"permission", "owner"}},
                                  {admin()}), 400));
}

TEST_F(Endpoints, RepositoryTokensCreateListDeleteBulk) {
  auto r = http.post(repo("api") + "/tokens", {{"name", "ci-main"}, {"expiresAt", rfc3339_from_now(7 * 86400)}},
                     {admin()});
  ASSERT_EQ(r.status, 201) << r.body;
  auto named = r.json()["data"];
  EXPECT_EQ(named["name"], "ci-main");
  EXPECT_TRUE(named["createdAt"].is_string());
  EXPECT_NEAR(seconds_until(named["expiresAt"]), 7 * 86400, 5);
  std::string secret = named["token"];
  EXPECT_EQ(secret.rfind("rtkr_", 0), 0u);
  EXPECT_TRUE(rt::check_token_format(secret).ok());

  // No body at all: a generated name and the default lifetime (one year).
  r = http.request("POST", repo("api") + "/tokens", "", {admin()});
  ASSERT_EQ(r.status, 201) << r.body;
  auto generated = r.json()["data"];
  EXPECT_TRUE(std::regex_match(generated.value("name", ""), std::regex("[A-Za-z0-9-]{1,100}"))) << r.body;
  EXPECT_NEAR(seconds_until(generated["expiresAt"]), 365 * 86400, 86400);
  auto third = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "third"}});

  r = http.get(repo("api") + "/tokens", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  auto list = r.json()["data"];
  ASSERT_EQ(list.size(), 3u) << r.body;
  EXPECT_EQ(list[0]["id"], third.id);  // newest first
  EXPECT_EQ(list[2]["id"], named["id"]);
  for (const auto& t : list) {
    EXPECT_FALSE(t.contains("token")) << t;
    EXPECT_TRUE(t["name"].is_string() && t["createdAt"].is_string()) << t;
  }
  EXPECT_EQ(r.body.find(secret), std::string::npos);
  EXPECT_EQ(r.body.find(third.secret), std::string::npos);
  EXPECT_EQ(http.get(repo("web") + "/tokens", {admin()}).json()["data"].size(), 0u);  // per repository

  EXPECT_EQ(http.get(repo("api"), {project_token(secret)}).status, 200);
  EXPECT_EQ(http.del(repo("api") + "/tokens/" + std::to_string(named["id"].get<std::int64_t>()), {admin()}).status,
            204);
  EXPECT_TRUE(IsApiError(http.get(repo("api"), {project_token(secret)}), 401));
  EXPECT_TRUE(IsApiError(
      http.del(repo("web") + "/tokens/" + std::to_string(third.id), {admin()}), 404));  // not that repository's

  r = http.post(repo("api") + "/tokens/delete", {{"ids", {generated["id"], third.id}}}, {admin()});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(http.get(repo("api") + "/tokens", {admin()}).json()["data"].size(), 0u);
  EXPECT_TRUE(IsApiError(http.get(repo("api"), {project_token(third.secret)}), 401));
}

TEST_F(Endpoints, LegacyHeaderSpellingsAreAccepted) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "docs");
  EXPECT_EQ(http.get("/api/v3/user", {"api_token: " + w.admin.token}).status, 200);
  EXPECT_EQ(http.get(repo("docs"), {"project_token: " + t.secret}).status, 200);
}

TEST_F(Endpoints, TokenPolicyGetPutAndEffect) {
  auto r = http.get(org_path("gh", "acme") + "/settings/tokens", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"]["defaultLifetimeDays"], 365);
  EXPECT_EQ(r.json()["data"]["maxLifetimeDays"], 365);

  r = http.put(org_path("gh", "acme") + "/settings/tokens", {{"defaultLifetimeDays", 30}, {"maxLifetimeDays", 60}},
               {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  r = http.get(org_path("gh", "acme") + "/settings/tokens", {admin()});
  EXPECT_EQ(r.json()["data"]["defaultLifetimeDays"], 30);
  EXPECT_EQ(r.json()["data"]["maxLifetimeDays"], 60);

  r = http.post(repo("api") + "/tokens", nlohmann::json::object(), {admin()});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NEAR(seconds_until(r.json()["data"]["expiresAt"]), 30 * 86400, 5);
  EXPECT_TRUE(IsApiError(http.post(repo("api") + "/tokens", {{"expiresAt", rfc3339_from_now(61 * 86400)}}, {admin()}),
                         400));
  EXPECT_EQ(http.post(repo("api") + "/tokens", {{"expiresAt", rfc3339_from_now(59 * 86400)}}, {admin()}).status, 201);

  for (auto bad : {nlohmann::json{{"defaultLifetimeDays", 0}, {"maxLifetimeDays", 60}},
                   nlohmann::json{{"defaultLifetimeDays", 30}, {"maxLifetimeDays", 400}},
                   nlohmann::json{{"defaultLifetimeDays", 90}, {"maxLifetimeDays", 60}}}) {
    EXPECT_TRUE(IsApiError(http.put(org_path("gh", "acme") + "/settings/tokens", bad, {admin()}), 400)) << bad;
  }
  EXPECT_EQ(http.get(org_path("gh", "acme") + "/settings/tokens", {admin()}).json()["data"]["maxLifetimeDays"], 60);
}

TEST_F(Endpoints, AuditLogRecordsTokenWorkWithoutSecrets) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api", {{"name", "audited"}});
  ASSERT_EQ(http.del(repo("api") + "/tokens/" + std::to_string(t.id), {admin()}).status, 204);
  auto r = http.get(org_path("gh", "acme") + "/audit", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = r.json();  // Codacy's shape: a bare array of AuditLog
  ASSERT_TRUE(events.is_array()) << r.body;
  EXPECT_GE(events.size(), 2u) << r.body;  // at least the token's creation and revocation
  EXPECT_NE(r.body.find("token"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find(t.secret), std::string::npos) << "the audit log holds a secret";
  r = http.get(org_path("gh", "acme") + "/audit?from=" + url_encode(rfc3339_from_now(3600)), {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().size(), 0u) << r.body;
  EXPECT_TRUE(IsApiError(http.get(org_path("gh", "acme") + "/audit?from=yesterday", {admin()}), 400));
}

TEST_F(Endpoints, AdminUsersAndTheirTokens) {
  auto r = http.post("/api/v3/admin/users", {{"name", "dora"}, {"email", "dora@example.test"}, {"isAdmin", false}},
                     {admin()});
  ASSERT_EQ(r.status, 201) << r.body;
  auto dora = r.json()["data"];
  EXPECT_EQ(dora["name"], "dora");
  EXPECT_EQ(dora["mainEmail"], "dora@example.test");
  EXPECT_EQ(dora["isAdmin"], false);
  EXPECT_TRUE(IsApiError(http.post("/api/v3/admin/users", {{"name", "dora"}}, {admin()}), 409));

  r = http.post("/api/v3/admin/users/" + std::to_string(dora["id"].get<std::int64_t>()) + "/tokens",
                nlohmann::json::object(), {admin()});
  ASSERT_EQ(r.status, 201) << r.body;
  std::string secret = r.json()["data"]["token"];
  r = http.get("/api/v3/user", {api_token(secret)});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["data"]["name"], "dora");
  EXPECT_TRUE(IsApiError(http.post("/api/v3/admin/users", {{"name", "eve"}}, {api_token(secret)}), 403));
  EXPECT_TRUE(IsApiError(http.post("/api/v3/admin/users/999999/tokens", nlohmann::json::object(), {admin()}), 404));
}

}  // namespace
}  // namespace rt::test
