// Ambiguous requests are refused, never resolved by picking one reading: a JSON body with a key twice (at
// any depth), a credential header given twice, a query parameter given twice, and a token sent in the
// header of the other kind are 400 (401 for the last) naming what is wrong, and change nothing.
#include <gtest/gtest.h>

#include "support/api_fixture.h"
#include "support/raw_socket.h"

namespace rt::test {
namespace {

TEST(Ambiguity, JsonBodiesWithADuplicateKeyAreRefusedNamingIt) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-dup", {"r1"});
  RawConnection conn(server.port());
  auto post = [&](const std::string& path, const std::string& body) {
    return conn.exchange(raw_request("POST", path, {api_token(w.admin.token), "Content-Type: application/json"}, body));
  };
  std::string got = post("/api/v3/admin/users", R"({"name":"mallory","isAdmin":false,"isAdmin":true})");
  EXPECT_EQ(response_status(got), 400) << got;
  EXPECT_NE(response_body(got).find("isAdmin"), std::string::npos) << got;
  EXPECT_NE(response_body(got).find("twice"), std::string::npos) << got;
  // Nothing was created: the name is still free.
  got = post("/api/v3/admin/users", R"({"name":"mallory"})");
  EXPECT_EQ(response_status(got), 201) << got;
  EXPECT_NE(response_body(got).find("\"isAdmin\":false"), std::string::npos) << got;

  // At any depth, and in every body the server parses.
  got = post("/api/v3/admin/users", R"({"name":"eve","extra":{"a":1,"b":{"c":1,"c":2}}})");
  EXPECT_EQ(response_status(got), 400) << got;
  EXPECT_NE(response_body(got).find("extra.b.c"), std::string::npos) << got;
  got = post("/api/v3/admin/users", R"({"name":"eve","list":[{"k":1},{"k":2,"k":3}]})");
  EXPECT_EQ(response_status(got), 400) << got;
  EXPECT_NE(response_body(got).find("list[1].k"), std::string::npos) << got;
  const std::string tokens = repo_path("gh", "acme-dup", "r1") + "/tokens";
  got = post(tokens, R"({"name":"ci","name":"ci2"})");
  EXPECT_EQ(response_status(got), 400) << got;
  EXPECT_NE(response_body(got).find("name"), std::string::npos) << got;
  // Keys that only look alike are different keys.
  got = post(tokens, R"({"name":"ci","Name":"x","na\u006De2":"y"})");
  EXPECT_EQ(response_status(got), 201) << got;
  // An escaped spelling of the same key is the same key.
  got = post("/api/v3/admin/users", R"({"name":"trudy","isAdmin":false,"is\u0041dmin":true})");
  EXPECT_EQ(response_status(got), 400) << got;
  auto listed = http.get(tokens, {api_token(w.admin.token)});
  EXPECT_EQ(listed.json()["data"].size(), 1u) << listed.body;
}

TEST(Ambiguity, CredentialHeadersGivenTwiceAreRefusedNamingThem) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-hdr", {"r1"});
  IssuedToken repo = create_repository_token(http, w.admin.token, "gh", "acme-hdr", "r1");
  TestUser bob = create_user(http, w.admin.token, "bob");
  RawConnection conn(server.port());
  const std::string repository = repo_path("gh", "acme-hdr", "r1");
  struct Case {
    std::vector<std::string> headers;
    const char* names;
  };
  for (const auto& c : std::vector<Case>{
           {{api_token(w.admin.token), api_token(bob.token)}, "api-token"},
           {{api_token(bob.token), api_token(w.admin.token)}, "api-token"},
           {{api_token(w.admin.token), "api_token: " + w.admin.token}, "api-token"},
           {{project_token(repo.secret), project_token(repo.secret)}, "project-token"},
           {{project_token(repo.secret), "project_token: " + repo.secret}, "project-token"}}) {
    std::string got = conn.exchange(raw_request("GET", repository, c.headers));
    EXPECT_EQ(response_status(got), 400) << c.headers[0] << " + " << c.headers[1] << ":\n" << got;
    EXPECT_NE(response_body(got).find(c.names), std::string::npos) << got;
    EXPECT_NE(response_body(got).find("once"), std::string::npos) << got;
    EXPECT_EQ(got.find(repo.secret), std::string::npos) << "a refusal echoed a secret";
    EXPECT_EQ(got.find(w.admin.token), std::string::npos) << "a refusal echoed a secret";
  }
}

TEST(Ambiguity, RepeatedQueryParametersAreRefusedNamingThem) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-query", {"r1", "r2"});
  RawConnection conn(server.port());
  const std::string list = org_path("gh", "acme-query") + "/repositories";
  for (const std::string query : {"limit=10&limit=20x", "limit=1&limit=1", "search=r&limit=5&%6Cimit=6", "a&a"}) {
    std::string got = conn.exchange(raw_request("GET", list + "?" + query, {api_token(w.admin.token)}));
    EXPECT_EQ(response_status(got), 400) << query << ":\n" << got;
    std::string name = query == "a&a" ? "'a'" : query.starts_with("search") ? "'limit'" : "'limit'";
    EXPECT_NE(response_body(got).find(name), std::string::npos) << query << ": " << got;
  }
  std::string got = conn.exchange(raw_request("GET", list + "?limit=1&search=r", {api_token(w.admin.token)}));
  EXPECT_EQ(response_status(got), 200) << got;
}

TEST(Ambiguity, ATokenInTheOtherKindsHeaderIsRefusedSayingWhereItBelongs) {
  ServerProcess server;
  HttpClient http(server.base_url());
  World w = bootstrap_world(server, http, "acme-kind", {"r1"});
  IssuedToken repo = create_repository_token(http, w.admin.token, "gh", "acme-kind", "r1");
  RawConnection conn(server.port());
  const std::string repository = repo_path("gh", "acme-kind", "r1");
  struct Case {
    std::vector<std::string> headers;
    const char* says;
  };
  for (const auto& c : std::vector<Case>{
           {{project_token(w.admin.token)}, "api-token"},
           {{api_token(repo.secret)}, "project-token"},
           {{api_token(w.admin.token), project_token(w.admin.token)}, "api-token"},
           {{api_token(w.admin.token), "project_token: " + w.admin.token}, "api-token"},
           {{project_token(repo.secret), api_token(repo.secret)}, "project-token"}}) {
    std::string got = conn.exchange(raw_request("GET", repository, c.headers));
    EXPECT_EQ(response_status(got), 401) << c.headers.size() << " headers, " << c.headers.back() << ":\n" << got;
    EXPECT_NE(response_body(got).find(std::string("send it as ") + c.says), std::string::npos) << got;
  }
  // Each kind in its own header still works, alone or together.
  EXPECT_EQ(response_status(conn.exchange(raw_request("GET", repository, {project_token(repo.secret)}))), 200);
  EXPECT_EQ(response_status(conn.exchange(raw_request("GET", repository, {api_token(w.admin.token)}))), 200);
}

}  // namespace
}  // namespace rt::test
