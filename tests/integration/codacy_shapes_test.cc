// The Codacy operations whose answers follow Codacy's document (API.md), against a real repotokensd:
// addOrganization/addRepository shapes and statuses, the extra Organization/User/Person fields, people by
// e-mail, the audit log as a bare array paged by `Link`, coverage read back the Codacy way (listCoverageReports,
// getCommit, getRepositoryWithAnalysis) beside our upload log, anonymous reads of Public repositories, and
// the legacy upload shapes of the published reporters (spaces in languages, final with no body).
#include <gtest/gtest.h>

#include <set>

#include "support/api_fixture.h"
#include "support/raw_socket.h"

namespace rt::test {
namespace {

using nlohmann::json;

json file_report(const std::string& name, const json& coverage) {
  return {{"filename", name}, {"coverage", coverage}};
}

class CodacyShapes : public ::testing::Test {
 protected:
  ServerProcess server;
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api", "web"});

  std::string admin() { return api_token(w.admin.token); }
  std::string repo(const std::string& name) { return repo_path("gh", "acme", name); }
  std::string analysis(const std::string& name) {
    return "/api/v3/analysis/organizations/gh/acme/repositories/" + name;
  }
  HttpResponse upload(const std::string& path, const json& body, const std::string& header) {
    return http.request("POST", path, body.dump(), {header, "Content-Type: application/json"});
  }
  std::vector<std::string> member_emails() {
    std::vector<std::string> out;
    for (const auto& p : walk_all(http, org_path("gh", "acme") + "/people", w.admin.token))
      for (const auto& e : p["emails"]) out.push_back(e.get<std::string>());
    return out;
  }
};

TEST_F(CodacyShapes, AddOrganizationAndRepositoryAnswerAsCodacysDocumentSays) {
  auto r = http.post("/api/v3/organizations", {{"provider", "gl"}, {"name", "second"}}, {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  json body = r.json();
  ASSERT_TRUE(body.contains("organization")) << r.body;
  EXPECT_FALSE(body.contains("data")) << r.body;
  EXPECT_EQ(body["warnings"], json::array());
  EXPECT_EQ(body["organization"]["name"], "second");
  EXPECT_TRUE(body["organization"]["identifier"].is_number_integer());
  for (const char* flag : {"singleProviderLogin", "hasDastAccess", "hasScaEnabled"})
    EXPECT_EQ(body["organization"][flag], false) << flag;

  r = http.post("/api/v3/repositories", {{"provider", "gl"}, {"repositoryFullPath", "second/app"}}, {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["fullPath"], "second/app");
  EXPECT_EQ(r.json()["visibility"], "Private");
  EXPECT_FALSE(r.json().contains("data")) << r.body;

  r = http.get(org_path("gl", "second"), {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"]["analysisConfigurationMinimumPermission"], "admin");
  EXPECT_EQ(r.json()["data"]["subscriptions"], json::array());
  EXPECT_EQ(r.json()["data"]["organization"]["hasScaEnabled"], false);

  r = http.get("/api/v3/user/organizations", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  for (const auto& org : r.json()["data"]) EXPECT_EQ(org["singleProviderLogin"], false) << org;

  TestUser bob = create_user(http, w.admin.token, "bob");
  r = http.get("/api/v3/user", {api_token(bob.token)});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"]["mainEmail"], "bob@example.test");
  EXPECT_EQ(r.json()["data"]["otherEmails"], json::array());
  EXPECT_EQ(r.json()["data"]["isActive"], true);
  r = http.get("/api/v3/user", {admin()});  // made offline without an address: "" as the schema requires a string
  EXPECT_EQ(r.json()["data"]["mainEmail"], "");
}

TEST_F(CodacyShapes, PeopleAreAddedAndRemovedByEmail) {
  TestUser bob = create_user(http, w.admin.token, "bob");
  TestUser carol = create_user(http, w.admin.token, "carol");
  TestUser dave = create_user(http, w.admin.token, "dave");
  const std::string people = org_path("gh", "acme") + "/people";

  // Bad input: a clear 400, nobody added.
  for (const std::string& bad : {std::string(R"({"emails": ["bob@example.test"]})"), std::string(R"(["bob@example.test", 7])"),
                                 std::string(R"(["not-an-address"])"), std::string("[]"), std::string("[nope"),
                                 std::string(R"(["bob@example.test", "nobody@example.test"])")}) {
    auto r = http.request("POST", people, bad, {admin(), "Content-Type: application/json"});
    EXPECT_TRUE(IsApiError(r, 400)) << bad;
  }
  EXPECT_EQ(member_emails(), std::vector<std::string>{}) << "a refused call added someone";
  auto unknown = http.post(people, json::array({"bob@example.test", "nobody@example.test"}), {admin()});
  EXPECT_NE(unknown.json()["message"].get<std::string>().find("nobody@example.test"), std::string::npos) << unknown.body;

  // Members may not add people; admins may, with addresses in any ASCII case.
  set_org_role(http, w.admin.token, "gh", "acme", dave.id, "member");
  EXPECT_TRUE(IsApiError(http.post(people, json::array({"carol@example.test"}), {api_token(dave.token)}), 403));
  auto r = http.post(people, json::array({"BOB@example.test", "carol@example.test", "dave@example.test"}), {admin()});
  ASSERT_EQ(r.status, 204) << r.body;
  std::map<std::string, json> listed;
  for (const auto& p : walk_all(http, people, w.admin.token)) listed[p["name"]] = p;
  ASSERT_EQ(listed.size(), 4u);
  EXPECT_EQ(listed["bob"]["emails"], json({"bob@example.test"}));
  EXPECT_EQ(listed["bob"]["email"], "bob@example.test");
  EXPECT_EQ(listed["bob"]["canBeRemoved"], true);
  EXPECT_EQ(listed["bob"]["role"], "member");
  EXPECT_EQ(listed["admin"]["emails"], json::array());  // no address: an empty list, "" as the deprecated one
  EXPECT_EQ(listed["admin"]["email"], "");
  EXPECT_EQ(http.get(org_path("gh", "acme"), {api_token(bob.token)}).json()["data"]["membership"]["userRole"],
            "member");
  // Adding an admin again keeps the role.
  set_org_role(http, w.admin.token, "gh", "acme", carol.id, "admin");
  ASSERT_EQ(http.post(people, json::array({"carol@example.test"}), {admin()}).status, 204);
  EXPECT_EQ(http.get(org_path("gh", "acme"), {api_token(carol.token)}).json()["data"]["membership"]["userRole"],
            "admin");

  // Removal: per address, success or failed with the reason; bad input a 400 that removes nobody.
  for (const json& bad : {json::array({"bob@example.test"}), json{{"emails", "bob@example.test"}}, json{{"emails", {1}}},
                          json::object(), json{{"emails", {"bob@example.test", "broken"}}}})
    EXPECT_TRUE(IsApiError(http.post(people + "/remove", bad, {admin()}), 400)) << bad;
  EXPECT_EQ(member_emails().size(), 3u);
  EXPECT_TRUE(IsApiError(http.post(people + "/remove", {{"emails", {"bob@example.test"}}}, {api_token(dave.token)}),
                         403));
  r = http.post(people + "/remove", {{"emails", {"Bob@Example.test", "nobody@example.test"}}}, {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["success"], json::array({{{"email", "Bob@Example.test"}}}));
  ASSERT_EQ(r.json()["failed"].size(), 1u) << r.body;
  EXPECT_EQ(r.json()["failed"][0]["email"], "nobody@example.test");
  EXPECT_TRUE(r.json()["failed"][0]["error"].is_string());
  EXPECT_TRUE(IsApiError(http.get(org_path("gh", "acme"), {api_token(bob.token)}), 404)) << "bob is still a member";

  int added = 0, removed = 0;
  for (const auto& e : walk_all(http, org_path("gh", "acme") + "/audit", w.admin.token)) {
    added += e["action"] == "member.set";
    removed += e["action"] == "member.remove";
  }
  EXPECT_EQ(added, 4);  // dave and carol by role, bob and carol by e-mail (dave was a member, carol again too)
  EXPECT_EQ(removed, 1);
}

TEST_F(CodacyShapes, AuditLogIsABareArrayPagedByLinkHeader) {
  TestUser bob = create_user(http, w.admin.token, "bob");
  set_org_role(http, w.admin.token, "gh", "acme", bob.id, "admin");
  for (int i = 0; i < 3; ++i) create_repository_token(http, bob.token, "gh", "acme", "api");

  auto r = http.get(org_path("gh", "acme") + "/audit?limit=2", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(r.json().is_array()) << r.body;
  ASSERT_EQ(r.json().size(), 2u);
  const std::string link = r.header("link");
  EXPECT_NE(link.find("limit=2"), std::string::npos) << link;
  EXPECT_NE(link.find("rel=\"next\""), std::string::npos) << link;
  json newest = r.json()[0];
  EXPECT_EQ(newest["actor"]["email"], "bob@example.test");
  EXPECT_EQ(newest["actor"]["role"], "organizationAdmin");
  EXPECT_EQ(newest["result"], "succeed");
  EXPECT_EQ(newest["source"], "API");
  EXPECT_EQ(newest["repositoryName"], "api");
  EXPECT_TRUE(newest["timestamp"].is_string());
  EXPECT_TRUE(newest["action"].is_string());

  // Every page once, none twice, and X-Total-Count says how many there are.
  auto all = walk_all(http, org_path("gh", "acme") + "/audit?limit=2", w.admin.token);
  std::set<std::int64_t> ids;
  for (const auto& e : all) ids.insert(e["id"].get<std::int64_t>());
  EXPECT_EQ(ids.size(), all.size());
  EXPECT_EQ(std::to_string(all.size()), r.header("x-total-count"));
  auto last = http.get(org_path("gh", "acme") + "/audit?limit=1000", {admin()});
  EXPECT_EQ(last.header("link"), "") << "no next page after the last one";

  // from/to in Codacy's epoch milliseconds: a window in the far past is empty, one around now is not.
  r = http.get(org_path("gh", "acme") + "/audit?from=0&to=1000", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::array());
  r = http.get(org_path("gh", "acme") + "/audit?from=1000&to=99999999999999", {admin()});
  EXPECT_EQ(r.json().size(), all.size());
  EXPECT_TRUE(IsApiError(http.get(org_path("gh", "acme") + "/audit?from=yesterday", {admin()}), 400));
}

TEST_F(CodacyShapes, CoverageReadBackTheCodacyWay) {
  IssuedToken token = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  const std::string t = project_token(token.secret);
  auto r = http.get(repo("api") + "/coverage/status", {t});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json({{"data", {{"hasCoverageOverview", false}, {"lastReports", json::array()}}}}));
  r = http.get(analysis("api"), {t});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"]["coverage"], json::object());
  EXPECT_EQ(r.json()["data"]["repository"]["name"], "api");

  // Commit c1: two partial parts (3 of 4 lines), then refused garbage, then the final notification.
  ASSERT_EQ(upload("/2.0/coverage/c1/go?partial=true", {{"fileReports", {file_report("a.go", {{"1", 1}, {"2", 0}})}}}, t).status, 200);
  ASSERT_EQ(upload("/2.0/coverage/c1/go?partial=true", {{"fileReports", {file_report("b.go", {{"1", 3}, {"2", 1}})}}}, t).status, 200);
  ASSERT_EQ(upload("/2.0/coverage/c1/go", {{"fileReports", "nope"}}, t).status, 400);
  r = http.get(repo("api") + "/coverage/status", {t});
  json data = r.json()["data"];
  EXPECT_EQ(data["hasCoverageOverview"], false);
  ASSERT_EQ(data["lastReports"].size(), 2u) << r.body << " (a refused upload is no report)";
  EXPECT_EQ(data["lastReports"][0]["status"], "MissingFinal");
  EXPECT_EQ(data["lastReports"][0]["targetCommitSha"], "c1");
  EXPECT_TRUE(data["lastReports"][0]["createdAt"].is_string());
  r = http.get(analysis("api") + "/commits/c1", {t});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["coverage"], json::object()) << "no final report yet, no processed coverage";

  ASSERT_EQ(http.request("POST", "/2.0/commit/c1/coverageFinal", "{}", {t, "Content-Type: application/json"}).status, 200);
  data = http.get(repo("api") + "/coverage/status?limit=1", {t}).json()["data"];
  EXPECT_EQ(data["hasCoverageOverview"], true);
  ASSERT_EQ(data["lastReports"].size(), 1u);
  EXPECT_EQ(data["lastReports"][0]["status"], "Processed");
  EXPECT_EQ(data["lastReports"][0]["language"], "go");

  r = http.get(analysis("api") + "/commits/c1", {t});
  ASSERT_EQ(r.status, 200) << r.body;
  json commit = r.json();
  EXPECT_FALSE(commit.contains("data")) << "CommitWithAnalysis is bare";
  EXPECT_EQ(commit["commit"]["sha"], "c1");
  EXPECT_TRUE(commit["commit"]["id"].is_number_integer());
  EXPECT_TRUE(commit["commit"]["commitTimestamp"].is_string());
  EXPECT_EQ(commit["commit"]["authorName"], "");
  EXPECT_EQ(commit["coverage"]["totalCoveragePercentage"], 75.0);
  EXPECT_FALSE(commit["coverage"].contains("deltaCoveragePercentage")) << "no parent known, no delta";
  EXPECT_EQ(commit["meta"]["analyzable"], false);

  // A second commit, 1 of 4: the repository shows the latest commit with final coverage.
  ASSERT_EQ(upload("/2.0/coverage/c2/go", {{"fileReports", {file_report("a.go", {{"1", 1}, {"2", 0}}),
                                                            file_report("b.go", {{"1", 0}, {"2", 0}})}}}, t).status, 200);
  r = http.get(analysis("api"), {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  json coverage = r.json()["data"]["coverage"];
  EXPECT_EQ(coverage["coveragePercentageWithDecimals"], 25.0);
  EXPECT_EQ(coverage["coveragePercentage"], 25);
  EXPECT_EQ(coverage["numberTotalFiles"], 2);
  EXPECT_EQ(coverage["numberCoverableLines"], 4);
  EXPECT_EQ(coverage["numberCoveredLines"], 1);
  EXPECT_EQ(coverage["filesUncovered"], 1);
  EXPECT_EQ(r.json()["data"]["repository"]["permission"], "admin");
  EXPECT_EQ(http.get(analysis("api") + "/commits/c2", {t}).json()["coverage"]["totalCoveragePercentage"], 25.0);

  EXPECT_TRUE(IsApiError(http.get(analysis("api") + "/commits/never", {t}), 404));
  EXPECT_TRUE(IsApiError(http.get(analysis("web") + "/commits/c1", {t}), 404)) << "another repository's token";
  EXPECT_TRUE(IsApiError(http.get(analysis("web"), {t}), 404));

  // Our upload log keeps every upload, refused ones included, with a true total over all pages.
  r = http.get(repo("api") + "/coverage/uploads?limit=2", {t});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"].size(), 2u);
  EXPECT_EQ(r.json()["pagination"]["total"], 4);
  EXPECT_EQ(r.json()["pagination"]["limit"], 2);
  auto log = walk_all(http, repo("api") + "/coverage/uploads?limit=2", w.admin.token);
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0]["commit"], "c2");
  EXPECT_EQ(log[1]["status"], "failed");
  EXPECT_TRUE(log[1]["reason"].is_string());
  EXPECT_EQ(log[3]["status"], "final");
}

TEST_F(CodacyShapes, PublicRepositoriesAreReadableWithoutAToken) {
  add_repository(http, w.admin.token, "gh", "acme", "open", "Public");
  add_repository(http, w.admin.token, "gh", "acme", "members", "LoginPublic");
  IssuedToken open_token = create_repository_token(http, w.admin.token, "gh", "acme", "open");
  IssuedToken api_token_ = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  for (const std::string& repo_name : {std::string("open"), std::string("api")}) {
    const std::string secret = repo_name == "open" ? open_token.secret : api_token_.secret;
    ASSERT_EQ(upload("/2.0/coverage/p1/go", {{"fileReports", {file_report("a.go", {{"1", 1}})}}}, project_token(secret)).status, 200);
  }

  // Public: every read answers without a token.
  auto r = http.get(repo("open"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"]["name"], "open");
  EXPECT_FALSE(r.json()["data"].contains("permission")) << "no caller, no permission: " << r.body;
  for (const std::string& path : {repo("open") + "/coverage/status", repo("open") + "/coverage/uploads",
                                  repo("open") + "/commits/p1/coverage", analysis("open"), analysis("open") + "/commits/p1"})
    EXPECT_EQ(http.get(path).status, 200) << path;
  EXPECT_EQ(http.get(analysis("open") + "/commits/p1").json()["coverage"]["totalCoveragePercentage"], 100.0);

  // Private and LoginPublic: exactly the answer for a repository that does not exist.
  const std::string missing = http.get(repo("ghost")).body;
  for (const std::string& name : {std::string("api"), std::string("members")}) {
    for (const std::string& path : {repo(name), repo(name) + "/coverage/status", analysis(name),
                                    analysis(name) + "/commits/p1", repo(name) + "/commits/p1/coverage"}) {
      auto hidden = http.get(path);
      EXPECT_TRUE(IsApiError(hidden, 404)) << path;
      EXPECT_EQ(hidden.body.find("coverage"), std::string::npos) << path << ": " << hidden.body;
    }
  }
  EXPECT_EQ(json::parse(missing)["message"], "repository gh/acme/ghost not found");
  EXPECT_EQ(http.get(repo("api")).json()["message"], "repository gh/acme/api not found");

  // The organization's listing shows its Public repositories only; one without any is unknown.
  r = http.get(org_path("gh", "acme") + "/repositories");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json()["data"].size(), 1u) << r.body;
  EXPECT_EQ(r.json()["data"][0]["name"], "open");
  EXPECT_EQ(r.json()["pagination"]["total"], 1);
  EXPECT_EQ(http.get(org_path("gh", "acme") + "/repositories?filter=Private").json()["data"], json::array());
  ASSERT_EQ(http.post("/api/v3/organizations", {{"provider", "gh"}, {"name", "closed"}}, {admin()}).status, 200);
  add_repository(http, w.admin.token, "gh", "closed", "secret");
  EXPECT_TRUE(IsApiError(http.get(org_path("gh", "closed") + "/repositories"), 404));
  EXPECT_TRUE(IsApiError(http.get(org_path("gh", "nobody") + "/repositories"), 404));

  // No writes and no other reads without a token, Public or not; a bad token is refused even on a Public one.
  EXPECT_TRUE(IsApiError(http.post(repo("open") + "/tokens", json::object()), 401));
  EXPECT_TRUE(IsApiError(http.get(repo("open") + "/tokens"), 401));
  EXPECT_TRUE(IsApiError(http.del(repo("open")), 401));
  EXPECT_TRUE(IsApiError(http.get(org_path("gh", "acme")), 401));
  EXPECT_TRUE(IsApiError(http.post(org_path("gh", "acme") + "/people", json::array({"x@example.test"})), 401));
  EXPECT_EQ(http.request("POST", "/2.0/coverage/p2/go", R"({"fileReports": []})").status, 401);
  EXPECT_EQ(http.request("POST", "/2.0/gh/acme/open/commit/p2/coverage/go", R"({"fileReports": []})").status, 401);
  EXPECT_TRUE(IsApiError(http.get(repo("open"), {api_token("rtka_not-a-token")}), 401));
  EXPECT_EQ(http.get(repo("open") + "/coverage/uploads", {admin()}).json()["pagination"]["total"], 1)
      << "the refused anonymous uploads stored nothing";
}

TEST_F(CodacyShapes, LegacyUploadsTakeWhatThePublishedReportersSend) {
  IssuedToken token = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  const json body = {{"total", 50}, {"fileReports", {file_report("Module1.vb", {{"1", 1}, {"2", 0}})}}};
  // A language with a space, percent-encoded, in any case; the deprecated header spelling.
  auto r = upload("/2.0/coverage/v1/Visual%20Basic?partial=false", body, "project_token: " + token.secret);
  ASSERT_EQ(r.status, 200) << r.body;
  r = upload("/2.0/gh/acme/api/commit/v2/coverage/visual%20basic?partial=true", body, admin());
  ASSERT_EQ(r.status, 200) << r.body;
  auto log = walk_all(http, repo("api") + "/coverage/uploads", w.admin.token);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0]["language"], "visual basic");
  EXPECT_EQ(log[1]["language"], "visual basic");
  EXPECT_EQ(upload("/2.0/coverage/v1/visual%0Abasic", body, project_token(token.secret)).status, 400);

  // coverageFinal with no body at all (no Content-Length, no Content-Type), by name with an api-token.
  RawConnection raw(server.port());
  ASSERT_TRUE(raw.connected());
  ASSERT_TRUE(raw.send_all("POST /2.0/gh/acme/api/commit/v2/coverageFinal HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "api-token: " + w.admin.token + "\r\nConnection: close\r\n\r\n"));
  bool closed = false;
  std::string answer = raw.read_until_closed(std::chrono::seconds(10), closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("\"success\""), std::string::npos) << answer;
  // ... and with an empty body, with a project token.
  r = upload("/2.0/gh/acme/api/commit/v2/coverage/go?partial=true", body, project_token(token.secret));
  ASSERT_EQ(r.status, 200) << r.body;
  r = http.request("POST", "/2.0/commit/v2/coverageFinal", "", {project_token(token.secret)});
  ASSERT_EQ(r.status, 200) << r.body;
  auto status = http.get(repo("api") + "/coverage/status", {admin()}).json()["data"]["lastReports"];
  for (const auto& report : status) EXPECT_EQ(report["status"], "Processed") << report;
}

}  // namespace
}  // namespace rt::test
