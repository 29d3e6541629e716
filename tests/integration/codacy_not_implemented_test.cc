// Over HTTP: a Codacy operation repotokensd does not serve answers 501 naming it (Codacy's error body),
// beside 404 for paths Codacy does not define and 405 for methods it does not define there.
#include <gtest/gtest.h>

#include "support/api_fixture.h"

namespace rt::test {
namespace {

TEST(CodacyNotImplemented, UnservedOperationsAre501NamingThem) {
  ServerProcess server;
  HttpClient http(server.base_url());
  std::string admin = server.create_user_offline("ada", /*instance_admin=*/true);
  const std::string repo = repo_path("gh", "acme", "api");
  for (const auto& headers : {std::vector<std::string>{}, std::vector<std::string>{api_token(admin)}}) {
    HttpResponse r = http.get(repo + "/branches", headers);
    EXPECT_EQ(r.status, 501) << r.body;
    EXPECT_EQ(r.json(), (nlohmann::json{{"error", "NotImplemented"},
                                        {"message", "repotokensd does not serve listRepositoryBranches"},
                                        {"actions", nlohmann::json::array()}}));
  }
  HttpResponse patch = http.request("PATCH", "/api/v3/user", R"({"name":"x"})", {api_token(admin)});
  EXPECT_EQ(patch.status, 501);
  EXPECT_EQ(patch.json().value("message", ""), "repotokensd does not serve patchUser");
  EXPECT_EQ(http.get(repo + "/nonsense", {api_token(admin)}).status, 404);
  HttpResponse put = http.request("PUT", "/api/v3/user", "{}", {api_token(admin)});
  EXPECT_TRUE(IsApiError(put, 405));
  EXPECT_EQ(put.header("allow"), "GET, DELETE, PATCH, HEAD");  // HEAD wherever GET is served
  // Served operations are unchanged beside them.
  EXPECT_EQ(http.get("/api/v3/user", {api_token(admin)}).status, 200);
}

}  // namespace
}  // namespace rt::test
