// The permission matrix of API.md "Who may do what", against one real server: every kind of caller
// (instance admin, org admin, members with repository admin/write/read or nothing, an outsider, project
// tokens of the same and another repository, revoked, expired, malformed, bad-checksum and missing
// credentials) against the token-management and repository endpoints. A repository the caller may not
// see is a 404; a refused write changes nothing.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <thread>

#include "core/secret.h"
#include "support/api_fixture.h"

namespace rt::test {
namespace {

using Statuses = std::set<long>;

struct Caller {
  std::string label;
  std::string header;  // "" = no credential at all
  bool is_user = false;
};

struct Matrix {
  // Many refused credentials in quick succession: the per-address limit is off, so they get 401, not 429.
  ServerProcess server{ServerOptions{.extra_args = {"--rate-limit-per-address", "0"}}};
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"target", "other", "spare"});
  std::map<std::string, Caller> callers;
  std::map<std::string, TestUser> users;
  IssuedToken same, another, revoked, expired;

  Matrix() {
    auto user = [&](const std::string& name) {
      users[name] = create_user(http, w.admin.token, name);
      callers[name] = {name, api_token(users[name].token), true};
    };
    // An instance admin who is no member of the organization.
    auto r = http.post("/api/v3/admin/users", {{"name", "root2"}, {"isAdmin", true}}, {api_token(w.admin.token)});
    if (r.status != 201) throw std::runtime_error("create root2: " + r.body);
    auto id = r.json()["data"]["id"].get<std::int64_t>();
    r = http.post("/api/v3/admin/users/" + std::to_string(id) + "/tokens", nlohmann::json::object(),
                  {api_token(w.admin.token)});
    if (r.status != 201) throw std::runtime_error("token for root2: " + r.body);
    callers["instance-admin"] = {"instance-admin", api_token(r.json()["data"]["token"].get<std::string>()), true};

    for (auto n : {"org-admin", "repo-admin", "repo-write", "repo-read", "no-grant", "outsider"}) user(n);
    set_org_role(http, w.admin.token, "gh", "acme", users["org-admin"].id, "admin");
    for (auto n : {"repo-admin", "repo-write", "repo-read", "no-grant"})
      set_org_role(http, w.admin.token, "gh", "acme", users[n].id, "member");
    grant_permission(http, w.admin.token, "gh", "acme", "target", users["repo-admin"].id, "admin");
    grant_permission(http, w.admin.token, "gh", "acme", "target", users["repo-write"].id, "write");
    grant_permission(http, w.admin.token, "gh", "acme", "target", users["repo-read"].id, "read");

    expired = create_repository_token(http, w.admin.token, "gh", "acme", "target",
                                      {{"expiresAt", rfc3339_from_now(2)}});
    same = create_repository_token(http, w.admin.token, "gh", "acme", "target");
    another = create_repository_token(http, w.admin.token, "gh", "acme", "other");
    revoked = create_repository_token(http, w.admin.token, "gh", "acme", "target");
    if (http.del(repo_path("gh", "acme", "target") + "/tokens/" + std::to_string(revoked.id),
                 {api_token(w.admin.token)}).status != 204)
      throw std::runtime_error("revoke failed");
    callers["project-same"] = {"project-same", project_token(same.secret)};
    callers["project-other"] = {"project-other", project_token(another.secret)};
    callers["project-revoked"] = {"project-revoked", project_token(revoked.secret)};
    callers["project-expired"] = {"project-expired", project_token(expired.secret)};
    rt::SystemRandom random;
    callers["malformed"] = {"malformed", api_token("rtka_not-a-token")};
    std::string bad_sum = rt::generate_token(rt::TokenKind::account, random);
    bad_sum.back() = bad_sum.back() == 'a' ? 'b' : 'a';
    callers["bad-checksum"] = {"bad-checksum", api_token(bad_sum)};
    std::string bad_project = rt::generate_token(rt::TokenKind::repository, random);
    bad_project.back() = bad_project.back() == 'a' ? 'b' : 'a';
    callers["bad-checksum-project"] = {"bad-checksum-project", project_token(bad_project)};
    callers["unknown"] = {"unknown", api_token(rt::generate_token(rt::TokenKind::account, random))};
    callers["missing"] = {"missing", ""};
    // Let the short-lived token expire (bounded wait; expiry has one-second resolution).
    for (int i = 0; i < 100; ++i) {
      if (http.get(repo_path("gh", "acme", "target"), {project_token(expired.secret)}).status != 200) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
};

class Permissions : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      matrix_ = std::make_unique<Matrix>();
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() { matrix_.reset(); }
  void SetUp() override { ASSERT_TRUE(matrix_) << "matrix set-up failed: " << setup_error_; }

  HttpClient& http() { return matrix_->http; }
  std::vector<std::string> headers(const Caller& c) { return c.header.empty() ? std::vector<std::string>{} : std::vector<std::string>{c.header}; }
  std::string target() { return repo_path("gh", "acme", "target"); }
  std::string admin() { return api_token(matrix_->w.admin.token); }

  // Who is expected to get what. Refusals are always a JSON error envelope.
  void check(const std::string& what, const Caller& c, const HttpResponse& r, const Statuses& ok) {
    EXPECT_TRUE(ok.count(r.status)) << what << " as " << c.label << ": got " << r.status << " " << r.body;
    if (r.status >= 400) {
      auto j = r.json();
      EXPECT_TRUE(j.is_object() && j["error"].is_string() && j["message"].is_string())
          << what << " as " << c.label << ": " << r.body;
    }
  }

  static std::unique_ptr<Matrix> matrix_;
  static std::string setup_error_;
};
std::unique_ptr<Matrix> Permissions::matrix_;
std::string Permissions::setup_error_;

// Expected statuses by caller for an operation on the repository "target".
// `allowed` are the callers that may do it; the rest are grouped by why they are refused.
std::map<std::string, Statuses> expectations(const std::set<std::string>& allowed, long success,
                                             const Statuses& seen_but_forbidden, const Statuses& project_same) {
  const Statuses unauthenticated{401};
  std::map<std::string, Statuses> e;
  for (auto n : {"instance-admin", "org-admin", "repo-admin", "repo-write", "repo-read"})
    e[n] = allowed.count(n) ? Statuses{success} : seen_but_forbidden;
  e["no-grant"] = allowed.count("no-grant") ? Statuses{success} : Statuses{404};
  e["outsider"] = Statuses{404};
  e["project-same"] = allowed.count("project-same") ? Statuses{success} : project_same;
  e["project-other"] = {401, 403, 404};
  for (auto n : {"project-revoked", "project-expired", "malformed", "bad-checksum", "bad-checksum-project", "unknown",
                 "missing"})
    e[n] = unauthenticated;
  return e;
}

TEST_F(Permissions, GetRepository) {
  auto e = expectations({"instance-admin", "org-admin", "repo-admin", "repo-write", "repo-read", "project-same"}, 200,
                        {}, {});
  e["missing"] = {404};  // no credential: a Private repository reads as one that does not exist
  for (auto& [name, c] : matrix_->callers) {
    auto r = http().get(target(), headers(c));
    check("getRepository", c, r, e.at(name));
    if (r.status != 200) {
      EXPECT_EQ(r.body.find("\"repositoryId\""), std::string::npos) << name << ": " << r.body;
    }
  }
}

TEST_F(Permissions, ExpiredIsDistinctFromUnknownAndRevoked) {
  auto expired = http().get(target(), {project_token(matrix_->expired.secret)});
  ASSERT_TRUE(IsApiError(expired, 401));
  std::string m = expired.json()["message"];
  EXPECT_NE(m.find("expired"), std::string::npos) << m;
  for (auto n : {"project-revoked", "unknown", "bad-checksum", "malformed"}) {
    auto r = http().get(target(), headers(matrix_->callers.at(n)));
    ASSERT_TRUE(IsApiError(r, 401)) << n;
    EXPECT_NE(r.json()["message"], m) << n << " reads like an expiry";
    EXPECT_EQ(r.json()["message"].get<std::string>().find("expired"), std::string::npos) << n << ": " << r.body;
  }
}

TEST_F(Permissions, ListRepositoryTokens) {
  auto e = expectations({"instance-admin", "org-admin", "repo-admin"}, 200, {403}, {401, 403});
  for (auto& [name, c] : matrix_->callers) {
    auto r = http().get(target() + "/tokens", headers(c));
    check("listRepositoryApiTokens", c, r, e.at(name));
  }
}

TEST_F(Permissions, CreateRepositoryToken) {
  auto before = http().get(target() + "/tokens", {admin()}).json()["pagination"]["total"].get<int>();
  auto e = expectations({"instance-admin", "org-admin", "repo-admin"}, 201, {403}, {401, 403});
  int created = 0;
  for (auto& [name, c] : matrix_->callers) {
    auto r = http().post(target() + "/tokens", nlohmann::json::object(), headers(c));
    check("createRepositoryApiToken", c, r, e.at(name));
    created += r.status == 201;
  }
  auto after = http().get(target() + "/tokens", {admin()}).json()["pagination"]["total"].get<int>();
  EXPECT_EQ(after, before + created) << "a refused create left a token behind";
  EXPECT_EQ(created, 3);
}

TEST_F(Permissions, DeleteRepositoryTokenSingleAndBulk) {
  auto e = expectations({"instance-admin", "org-admin", "repo-admin"}, 204, {403}, {401, 403});
  for (auto& [name, c] : matrix_->callers) {
    auto victim = create_repository_token(http(), matrix_->w.admin.token, "gh", "acme", "target");
    auto r = http().del(target() + "/tokens/" + std::to_string(victim.id), headers(c));
    check("deleteRepositoryApiToken", c, r, e.at(name));
    long still = http().get(target(), {project_token(victim.secret)}).status;
    EXPECT_EQ(still, r.status == 204 ? 401 : 200) << name << ": the token's fate does not match the answer";

    auto victim2 = create_repository_token(http(), matrix_->w.admin.token, "gh", "acme", "target");
    r = http().post(target() + "/tokens/delete", {{"ids", {victim2.id}}}, headers(c));
    check("deleteRepositoryApiTokens", c, r, e.at(name));
    still = http().get(target(), {project_token(victim2.secret)}).status;
    EXPECT_EQ(still, r.status == 204 ? 401 : 200) << name << ": bulk delete's effect does not match the answer";
    http().del(target() + "/tokens/" + std::to_string(victim.id), {admin()});
    http().del(target() + "/tokens/" + std::to_string(victim2.id), {admin()});
  }
}

TEST_F(Permissions, BulkDeleteCannotReachAnotherRepositorysTokens) {
  // A repository admin of "target" names a token of "other" in a bulk delete of "target".
  auto r = http().post(target() + "/tokens/delete", {{"ids", {matrix_->another.id}}},
                       headers(matrix_->callers.at("repo-admin")));
  EXPECT_NE(r.status, 500) << r.body;
  EXPECT_EQ(http().get(repo_path("gh", "acme", "other"), {project_token(matrix_->another.secret)}).status, 200)
      << "a bulk delete on one repository revoked another repository's token";
}

TEST_F(Permissions, ListOrganizationRepositoriesShowsOnlyVisibleOnes) {
  const std::map<std::string, std::set<std::string>> visible = {
      {"instance-admin", {"target", "other", "spare"}}, {"org-admin", {"target", "other", "spare"}},
      {"repo-admin", {"target"}}, {"repo-write", {"target"}}, {"repo-read", {"target"}}, {"no-grant", {}}};
  for (auto& [name, c] : matrix_->callers) {
    auto r = http().get(org_path("gh", "acme") + "/repositories", headers(c));
    auto v = visible.find(name);
    if (v == visible.end()) {
      check("listOrganizationRepositories", c, r,
            name == "outsider" || name == "project-same" || name == "project-other" ? Statuses{401, 403, 404}
            : name == "missing" ? Statuses{404}  // anonymous: an organization without Public repositories
                                : Statuses{401});
      continue;
    }
    ASSERT_EQ(r.status, 200) << name << ": " << r.body;
    std::set<std::string> names;
    auto listed = r.json();
    for (const auto& repo : listed["data"]) names.insert(repo.value("name", ""));
    EXPECT_EQ(names, v->second) << name;
    EXPECT_EQ(r.json()["pagination"]["total"], v->second.size()) << name;
  }
}

TEST_F(Permissions, AddAndDeleteRepositoryNeedOrgAdmin) {
  int n = 0;
  for (auto& [name, c] : matrix_->callers) {
    std::string repo = "added-" + std::to_string(n++);
    bool allowed = name == "instance-admin" || name == "org-admin";
    auto r = http().post("/api/v3/repositories", {{"provider", "gh"}, {"repositoryFullPath", "acme/" + repo}},
                         headers(c));
    Statuses refused = c.is_user ? Statuses{403, 404}
                       : name == "project-same" || name == "project-other" ? Statuses{401, 403}
                                                                           : Statuses{401};
    if (name == "repo-admin" || name == "repo-write" || name == "repo-read" || name == "no-grant") refused = {403};
    check("addRepository", c, r, allowed ? Statuses{200} : refused);
    EXPECT_EQ(http().get(repo_path("gh", "acme", repo), {admin()}).status, allowed ? 200 : 404) << name;

    auto doomed = "doomed-" + std::to_string(n);
    add_repository(http(), matrix_->w.admin.token, "gh", "acme", doomed);
    grant_permission(http(), matrix_->w.admin.token, "gh", "acme", doomed, matrix_->users["repo-admin"].id, "admin");
    grant_permission(http(), matrix_->w.admin.token, "gh", "acme", doomed, matrix_->users["repo-read"].id, "read");
    r = http().del(repo_path("gh", "acme", doomed), headers(c));
    Statuses expected = allowed ? Statuses{204}
                        : (name == "repo-admin" || name == "repo-read") ? Statuses{403}
                        : c.is_user ? Statuses{404}
                        : name == "project-other" || name == "project-same" ? Statuses{401, 403, 404}
                                                                             : Statuses{401};
    check("deleteRepository", c, r, expected);
    EXPECT_EQ(http().get(repo_path("gh", "acme", doomed), {admin()}).status, allowed ? 404 : 200) << name;
  }
}

TEST_F(Permissions, OrganizationAdministrationNeedsOrgAdmin) {
  const std::string org = org_path("gh", "acme");
  auto probe = create_user(http(), matrix_->w.admin.token, "probe");
  for (auto& [name, c] : matrix_->callers) {
    bool allowed = name == "instance-admin" || name == "org-admin";
    bool member = name == "repo-admin" || name == "repo-write" || name == "repo-read" || name == "no-grant";
    Statuses refused = member ? Statuses{403} : c.is_user ? Statuses{403, 404} : Statuses{401, 403};
    if (!c.is_user && name != "project-same" && name != "project-other") refused = {401};
    check("getTokenPolicy", c, http().get(org + "/settings/tokens", headers(c)), allowed ? Statuses{200} : refused);
    check("setTokenPolicy", c,
          http().put(org + "/settings/tokens", {{"defaultLifetimeDays", 365}, {"maxLifetimeDays", 365}}, headers(c)),
          allowed ? Statuses{200} : refused);
    check("audit", c, http().get(org + "/audit", headers(c)), allowed ? Statuses{200} : refused);
    check("setMemberRole", c, http().put(org + "/people/" + std::to_string(probe.id), {{"role", "member"}}, headers(c)),
          allowed ? Statuses{200, 201, 204} : refused);
    check("grantPermission", c,
          http().put(target() + "/people/" + std::to_string(probe.id), {{"permission", "read"}}, headers(c)),
          allowed                ? Statuses{200, 201, 204}
          : name == "no-grant"   ? Statuses{404}  // cannot see the repository at all
          : member               ? Statuses{403}
          : name == "project-other" ? Statuses{401, 403, 404}
                                    : refused);
    check("listPeople", c, http().get(org + "/people", headers(c)),
          allowed || member ? Statuses{200} : refused);
    if (allowed) http().del(org + "/people/" + std::to_string(probe.id), {admin()});
  }
  // A refused grant changed nothing: the probe, no longer a member, cannot see the repository.
  EXPECT_EQ(http().get(target(), {api_token(probe.token)}).status, 404);
}

TEST_F(Permissions, ProjectTokenCannotUseAccountEndpoints) {
  const Caller& c = matrix_->callers.at("project-same");
  for (const auto& path : {std::string("/api/v3/user"), std::string("/api/v3/user/tokens"),
                           std::string("/api/v3/user/organizations"), org_path("gh", "acme")}) {
    check("GET " + path, c, http().get(path, headers(c)), {401, 403});
  }
  check("createUserApiToken", c, http().post("/api/v3/user/tokens", nlohmann::json::object(), headers(c)), {401, 403});
  // Nor does a project token count as an api-token when sent in that header.
  auto as_api = Caller{"project-as-api", api_token(matrix_->same.secret)};
  check("getRepository with a project token in api-token", as_api, http().get(target(), headers(as_api)), {401});
}

}  // namespace
}  // namespace rt::test
