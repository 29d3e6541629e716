// Coverage over the wire with the project's own HTTP client against a real repotokensd: the current
// reporter's format (project-token header, fileReports), partial uploads then coverageFinal, the by-name
// and provider-less forms with account tokens, legacy error bodies, validation, the per-route body limit,
// listCoverageReports, the commit summary, audit and metrics.
#include <gtest/gtest.h>

#include "support/api_fixture.h"

namespace rt::test {
namespace {

using nlohmann::json;

json file_report(const std::string& name, const json& coverage) {
  return {{"filename", name}, {"coverage", coverage}};
}

class Coverage : public ::testing::Test {
 protected:
  ServerProcess server{ServerOptions{.db_url = {}, .extra_args = {"--max-coverage-body", "2000000"}, .env = {}}};
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api", "web"});
  IssuedToken api_token_ = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  IssuedToken web_token_ = create_repository_token(http, w.admin.token, "gh", "acme", "web");

  HttpResponse send(const std::string& path, const json& body, const std::string& header) {
    return http.request("POST", path, body.dump(), {header, "Content-Type: application/json"});
  }
  json status(const std::string& repo, const std::string& auth) {
    auto r = http.get(repo_path("gh", "acme", repo) + "/coverage/uploads", {auth});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["data"];
  }
  HttpResponse summary(const std::string& repo, const std::string& commit) {
    return http.get(repo_path("gh", "acme", repo) + "/commits/" + commit + "/coverage", {api_token(w.admin.token)});
  }
  std::int64_t coverage_rows() {
    auto counts = table_counts(server.db_url());
    return counts["coverage_reports"];
  }
};

// The legacy error body: only {"error": text}.
::testing::AssertionResult IsLegacyError(const HttpResponse& r, long status, const std::string& text = {}) {
  json j = r.json();
  if (r.status != status) return ::testing::AssertionFailure() << "status " << r.status << ": " << r.body;
  if (!j.is_object() || j.size() != 1 || !j.contains("error") || !j["error"].is_string())
    return ::testing::AssertionFailure() << "not a legacy error body: " << r.body;
  if (!text.empty() && j["error"] != text) return ::testing::AssertionFailure() << "error text: " << r.body;
  return ::testing::AssertionSuccess();
}

TEST_F(Coverage, ProjectTokenUploadIsVisibleOnItsOwnRepository) {
  json body = {{"fileReports", {file_report("src/a.go", {{"1", 1}, {"2", 0}, {"3", 4}}),
                                file_report("src/b.go", {{"10", 0}})}}};
  auto r = send("/2.0/coverage/abc123/go", body, project_token(api_token_.secret));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json({{"success", "Report sent!"}}));

  json list = status("api", project_token(api_token_.secret));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["commit"], "abc123");
  EXPECT_EQ(list[0]["language"], "go");
  EXPECT_EQ(list[0]["status"], "final");
  EXPECT_EQ(list[0]["files"], 2);
  EXPECT_EQ(list[0]["coverage"], 50.0);  // 2 covered of 4 coverable lines
  EXPECT_TRUE(status("web", api_token(w.admin.token)).empty());
  // A project token lists only its own repository.
  EXPECT_TRUE(IsApiError(http.get(repo_path("gh", "acme", "web") + "/coverage/status",
                                  {project_token(api_token_.secret)}), 404));

  auto s = summary("api", "abc123");
  ASSERT_EQ(s.status, 200) << s.body;
  json d = s.json()["data"];
  EXPECT_EQ(d["status"], "final");
  EXPECT_EQ(d["coverage"], 50.0);
  EXPECT_EQ(d["coverableLines"], 4);
  ASSERT_EQ(d["files"].size(), 2u);
  EXPECT_EQ(d["files"][0]["filename"], "src/a.go");
  EXPECT_NEAR(d["files"][0]["coverage"].get<double>(), 66.67, 1e-9);
  EXPECT_TRUE(IsApiError(summary("api", "nope"), 404));
}

TEST_F(Coverage, PartialUploadsAccumulateUntilCoverageFinal) {
  const std::string t = project_token(api_token_.secret);
  ASSERT_EQ(send("/2.0/coverage/c1/java?partial=true", {{"fileReports", {file_report("A.java", {{"1", 0}})}}}, t).status, 200);
  ASSERT_EQ(send("/2.0/coverage/c1/java?partial=true", {{"fileReports", {file_report("A.java", {{"1", 2}}),
                                                                          file_report("B.java", {{"5", 0}})}}}, t).status, 200);
  json list = status("api", t);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["status"], "partial");
  EXPECT_EQ(list[0]["files"], 2);
  EXPECT_EQ(summary("api", "c1").json()["data"]["status"], "partial");

  auto f = http.request("POST", "/2.0/commit/c1/coverageFinal", "{}", {t, "Content-Type: application/json"});
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_TRUE(f.json().contains("success"));
  list = status("api", t);
  EXPECT_EQ(list[0]["status"], "final");
  EXPECT_EQ(list[1]["status"], "final");
  json d = summary("api", "c1").json()["data"];
  EXPECT_EQ(d["status"], "final");
  EXPECT_EQ(d["coverage"], 50.0);  // A.java:1 covered (0 + 2), B.java:5 not

  EXPECT_TRUE(IsLegacyError(http.request("POST", "/2.0/commit/never/coverageFinal", "{}", {t}), 404));
}

TEST_F(Coverage, UnknownRevokedAndExpiredTokensGetLegacyErrorsAndStoreNothing) {
  json body = {{"fileReports", {file_report("a.c", {{"1", 1}})}}};
  auto revoked = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  ASSERT_EQ(http.del(repo_path("gh", "acme", "api") + "/tokens/" + std::to_string(revoked.id),
                     {api_token(w.admin.token)}).status, 204);
  std::string unknown = api_token_.secret;
  unknown.back() = unknown.back() == 'a' ? 'b' : 'a';
  EXPECT_TRUE(IsLegacyError(send("/2.0/coverage/abc/c", body, project_token(unknown)), 401, "not found"));
  EXPECT_TRUE(IsLegacyError(send("/2.0/coverage/abc/c", body, project_token(revoked.secret)), 401, "not found"));
  EXPECT_TRUE(IsLegacyError(send("/2.0/coverage/abc/c", body, "project_token: " + revoked.secret), 401, "not found"));
  EXPECT_TRUE(IsLegacyError(send("/2.0/coverage/abc/c", body, "X-Other: 1"), 401, "not found"));
  // A project token naming another repository by name: as if it did not exist.
  EXPECT_TRUE(IsLegacyError(send("/2.0/gh/acme/web/commit/abc/coverage/c", body, project_token(api_token_.secret)),
                            404, "not found"));
  EXPECT_EQ(coverage_rows(), 0);
  EXPECT_TRUE(status("api", api_token(w.admin.token)).empty());
  EXPECT_TRUE(status("web", api_token(w.admin.token)).empty());
}

TEST_F(Coverage, AccountTokensNeedWritePermissionAndAreAudited) {
  TestUser reader = create_user(http, w.admin.token, "reader");
  TestUser writer = create_user(http, w.admin.token, "writer");
  set_org_role(http, w.admin.token, "gh", "acme", reader.id, "member");
  set_org_role(http, w.admin.token, "gh", "acme", writer.id, "member");
  grant_permission(http, w.admin.token, "gh", "acme", "api", reader.id, "read");
  grant_permission(http, w.admin.token, "gh", "acme", "api", writer.id, "write");
  json body = {{"total", 100}, {"fileReports", {{{"filename", "x.ts"}, {"total", 100}, {"coverage", {{"7", 3}}}}}}};

  EXPECT_TRUE(IsLegacyError(send("/2.0/gh/acme/api/commit/d1/coverage/typescript", body, api_token(reader.token)), 403));
  EXPECT_TRUE(IsLegacyError(send("/2.0/gh/acme/web/commit/d1/coverage/typescript", body, api_token(writer.token)), 404));
  EXPECT_EQ(coverage_rows(), 0);

  auto r = send("/2.0/gh/acme/api/commit/d1/coverage/typescript?partial=true", body, api_token(writer.token));
  ASSERT_EQ(r.status, 200) << r.body;
  r = send("/2.0/gh/acme/api/commit/d1/coverageFinal", json::object(), "api_token: " + writer.token);
  ASSERT_EQ(r.status, 200) << r.body;
  // The provider-less form, with the deprecated header spelling.
  r = send("/2.0/acme/api/commit/d2/coverage/TypeScript", body, "api_token: " + writer.token);
  ASSERT_EQ(r.status, 200) << r.body;
  json list = status("api", api_token(reader.token));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["commit"], "d2");
  EXPECT_EQ(list[0]["language"], "typescript");
  EXPECT_EQ(list[1]["status"], "final");

  auto audit = walk_all(http, org_path("gh", "acme") + "/audit", w.admin.token);
  int uploads = 0, finals = 0;
  for (const auto& e : audit) {
    uploads += e["action"] == "coverage.upload";
    finals += e["action"] == "coverage.final";
  }
  EXPECT_EQ(uploads, 2);
  EXPECT_EQ(finals, 1);
  // A project token's uploads are not account actions: not audited.
  ASSERT_EQ(send("/2.0/coverage/d3/go", body, project_token(api_token_.secret)).status, 200);
  EXPECT_EQ(walk_all(http, org_path("gh", "acme") + "/audit", w.admin.token).size(), audit.size());
}

TEST_F(Coverage, ProviderLessNameAmbiguousAcrossProvidersIs400) {
  ASSERT_EQ(http.post("/api/v3/organizations", {{"provider", "gl"}, {"name", "acme"}}, {api_token(w.admin.token)}).status, 200);
  add_repository(http, w.admin.token, "gl", "acme", "api");
  add_repository(http, w.admin.token, "gl", "acme", "only-gitlab");
  json body = {{"fileReports", json::array()}};
  auto r = send("/2.0/acme/api/commit/e1/coverage/go", body, api_token(w.admin.token));
  ASSERT_TRUE(IsLegacyError(r, 400)) << r.body;
  EXPECT_NE(r.json()["error"].get<std::string>().find("ambiguous"), std::string::npos) << r.body;
  EXPECT_EQ(send("/2.0/acme/only-gitlab/commit/e1/coverage/go", body, api_token(w.admin.token)).status, 200);
  EXPECT_TRUE(IsLegacyError(send("/2.0/acme/nothing/commit/e1/coverage/go", body, api_token(w.admin.token)), 404));
  EXPECT_TRUE(IsLegacyError(send("/2.0/xx/acme/api/commit/e1/coverage/go", body, api_token(w.admin.token)), 400));
}

TEST_F(Coverage, MalformedReportsAre400SayWhyAndStoreNothing) {
  const std::string t = project_token(api_token_.secret);
  struct Case {
    std::string body;
    std::string says;
  };
  std::vector<Case> cases = {
      {"not json", "not valid JSON"},
      {R"({"fileReports":[{"filename":"../etc/passwd","coverage":{"1":1}}]})", ".."},
      {R"({"fileReports":[{"filename":"/abs.c","coverage":{"1":1}}]})", "relative"},
      {R"({"fileReports":[{"filename":"a.c","coverage":{"0":1}}]})", "positive"},
      {R"({"fileReports":[{"filename":"a.c","coverage":{"1":-2}}]})", "negative"},
      {R"({"fileReports":[{"filename":"a.c","coverage":{"1":0.5}}]})", "non-negative integer"},
      {R"({"total":3})", "fileReports"},
  };
  for (const auto& c : cases) {
    auto r = http.request("POST", "/2.0/coverage/bad/go", c.body, {t});
    ASSERT_TRUE(IsLegacyError(r, 400)) << c.body;
    EXPECT_NE(r.json()["error"].get<std::string>().find(c.says), std::string::npos) << c.body << " -> " << r.body;
  }
  EXPECT_TRUE(IsLegacyError(http.request("POST", "/2.0/coverage/bad/go?partial=maybe", "{}", {t}), 400));
  EXPECT_TRUE(IsLegacyError(http.request("POST", "/2.0/coverage/b%20ad/go", R"({"fileReports":[]})", {t}), 400));
  // Bytes that are not UTF-8 are quoted back as '?', in the reply and in the log.
  auto bytes = http.request("POST", "/2.0/coverage/bad/g%FFo", R"({"fileReports":[]})", {t});
  ASSERT_TRUE(IsLegacyError(bytes, 400)) << bytes.body;
  EXPECT_NE(bytes.json()["error"].get<std::string>().find("language \"g?o\""), std::string::npos) << bytes.body;
  EXPECT_EQ(coverage_rows(), 0);
  json list = status("api", t);
  ASSERT_EQ(list.size(), cases.size() + 2);  // failed uploads are listed with their reason (not the bad partial=)
  EXPECT_EQ(list[0]["language"], "g?o");
  EXPECT_EQ(list.back()["status"], "failed");
  EXPECT_NE(list.back()["reason"].get<std::string>().find("not valid JSON"), std::string::npos);
  EXPECT_EQ(list.back()["files"], 0);
}

TEST_F(Coverage, CoverageRoutesHaveTheirOwnBodyLimit) {
  // 1.5 MB: above the 1 MiB default of other routes, below this server's --max-coverage-body 2000000.
  json coverage = json::object();
  for (int i = 1; i <= 120000; ++i) coverage[std::to_string(i)] = i % 2;
  std::string big = json{{"fileReports", {file_report("big.c", coverage)}}}.dump();
  ASSERT_GT(big.size(), 1u << 20);
  ASSERT_LT(big.size(), 2000000u);
  auto r = http.request("POST", "/2.0/coverage/big/c", big, {project_token(api_token_.secret)});
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_EQ(status("api", project_token(api_token_.secret))[0]["coverage"], 50.0);
  // Other routes keep the 1 MiB limit.
  EXPECT_EQ(http.request("POST", "/api/v3/repositories", big, {api_token(w.admin.token)}).status, 413);
  // Above the coverage limit: 413 with a legacy body, nothing stored.
  std::string huge(2100000, ' ');
  r = http.request("POST", "/2.0/coverage/huge/c", huge, {project_token(api_token_.secret)});
  EXPECT_TRUE(IsLegacyError(r, 413)) << r.body;
  EXPECT_EQ(coverage_rows(), 1);
}

TEST_F(Coverage, MetricsCountUploadsBytesAndFailures) {
  const std::string t = project_token(api_token_.secret);
  ASSERT_EQ(send("/2.0/coverage/m1/go", {{"fileReports", json::array()}}, t).status, 200);
  ASSERT_EQ(http.request("POST", "/2.0/coverage/m1/go", "nope", {t}).status, 400);
  std::string metrics = http.get("/metrics").body;
  EXPECT_NE(metrics.find("repotokens_coverage_uploads_total{kind=\"complete\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("repotokens_coverage_upload_bytes_total"), std::string::npos);
  EXPECT_NE(metrics.find("repotokens_coverage_upload_failures_total{reason=\"invalid\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace rt::test
