// The router against Codacy's operation table: every operation we do not serve is reachable as a 501
// route naming it (no served route shadows it), every served Codacy operation sits at Codacy's method and
// path, and 404 / 405 keep their meaning beside the 501 routes.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "server/codacy_operations.h"
#include "server/router.h"

namespace rt::server {
namespace {

using Outcome = RouteMatch::Outcome;

// "/a/{x}/b" -> "/a/sample1/b": a concrete path a client would send for that pattern.
std::string concrete(std::string_view pattern) {
  std::string out;
  int n = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') {
      out.push_back(pattern[i]);
      continue;
    }
    i = pattern.find('}', i);
    out += "sample" + std::to_string(++n);
  }
  return out;
}

// "{remoteOrganizationName}" and "{org}" are the same thing to a client: compare shapes only.
std::string shape(std::string_view pattern) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      i = pattern.find('}', i);
      out += "{}";
    } else {
      out.push_back(pattern[i]);
    }
  }
  return out;
}

const Route* route_named(const Router& router, std::string_view name) {
  for (const Route& r : router.routes())
    if (name == r.name) return &r;
  return nullptr;
}

TEST(ServerCodacyRoutes, EveryUnservedOperationIsA501NamingIt) {
  Router router = make_router();
  std::vector<std::string> params;
  int unserved = 0;
  for (const CodacyOperation& op : codacy_operations()) {
    const Route* own = route_named(router, op.operation_id);
    ASSERT_NE(own, nullptr) << op.operation_id << " has neither a served nor a 501 route";
    if (!own->not_implemented) continue;
    ++unserved;
    std::string path = "/api/v3" + concrete(op.path);
    RouteMatch m = router.match(op.method, path, params);
    ASSERT_EQ(m.outcome, Outcome::found) << method_name(op.method) << " " << path;
    EXPECT_STREQ(m.route->name, op.operation_id)
        << method_name(op.method) << " " << path << " is taken by " << m.route->pattern;
    EXPECT_TRUE(m.route->not_implemented) << op.operation_id;
  }
  EXPECT_GT(unserved, 200);  // the document has 260 operations; we serve a few dozen
}

TEST(ServerCodacyRoutes, ServedCodacyOperationsSitAtCodacysMethodAndPath) {
  Router router = make_router();
  std::set<std::string> ids;
  for (const CodacyOperation& op : codacy_operations()) ids.insert(op.operation_id);
  for (const CodacyOperation& op : codacy_operations()) {
    const Route* own = route_named(router, op.operation_id);
    if (!own || own->not_implemented) continue;
    EXPECT_EQ(own->method, op.method) << op.operation_id;
    EXPECT_EQ(shape(own->pattern), shape(std::string("/api/v3") + op.path)) << op.operation_id;
    // And a client calling it by Codacy's path reaches it.
    std::vector<std::string> params;
    RouteMatch m = router.match(op.method, "/api/v3" + concrete(op.path), params);
    ASSERT_EQ(m.outcome, Outcome::found) << op.operation_id;
    EXPECT_STREQ(m.route->name, op.operation_id);
  }
  // Exactly one route per Codacy operation id.
  std::multiset<std::string> names;
  for (const Route& r : router.routes())
    if (ids.count(r.name)) names.insert(r.name);
  for (const std::string& id : ids) EXPECT_EQ(names.count(id), 1u) << id;
}

TEST(ServerCodacyRoutes, UnservedNeighboursOfServedPaths) {
  Router router = make_router();
  std::vector<std::string> params;
  const std::string repo = "/api/v3/organizations/gh/acme/repositories/api";
  RouteMatch branches = router.match(Method::get, repo + "/branches", params);
  ASSERT_EQ(branches.outcome, Outcome::found);
  EXPECT_STREQ(branches.route->name, "listRepositoryBranches");
  EXPECT_TRUE(branches.route->not_implemented);
  EXPECT_EQ(router.match(Method::get, repo + "/nonsense", params).outcome, Outcome::not_found);
  EXPECT_EQ(router.match(Method::get, "/api/v3/nonsense", params).outcome, Outcome::not_found);
  // Our extension PUT .../people/{userId} does not hide Codacy's GET .../people/suggestions.
  RouteMatch suggestions = router.match(Method::get, repo + "/people/suggestions", params);
  ASSERT_EQ(suggestions.outcome, Outcome::found);
  EXPECT_STREQ(suggestions.route->name, "peopleSuggestionsForRepository");
  // A served route still wins for its own method: PUT .../people/suggestions is our extension.
  EXPECT_STREQ(router.match(Method::put, repo + "/people/suggestions", params).route->name,
               "setRepositoryPermission");
}

TEST(ServerCodacyRoutes, WrongMethodIs405UnlessCodacyDefinesIt) {
  Router router = make_router();
  std::vector<std::string> params;
  // Codacy defines only GET and POST on /user/tokens: PUT stays a 405.
  RouteMatch put = router.match(Method::put, "/api/v3/user/tokens", params);
  EXPECT_EQ(put.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(put.allow, "GET, POST");
  // Codacy defines PATCH and DELETE on /user, which we serve with GET only: 501s naming them.
  RouteMatch patch = router.match(Method::patch, "/api/v3/user", params);
  ASSERT_EQ(patch.outcome, Outcome::found);
  EXPECT_STREQ(patch.route->name, "patchUser");
  EXPECT_STREQ(router.match(Method::del, "/api/v3/user", params).route->name, "deleteUser");
  // ... and the 405 for a method nobody defines lists them too (they exist, answering 501).
  EXPECT_EQ(router.match(Method::put, "/api/v3/user", params).allow, "GET, DELETE, PATCH");
}

TEST(ServerCodacyRoutes, CodacyTemplatesDoNotCaptureOurPaths) {
  Router router = make_router();
  std::vector<std::string> params;
  // Our extensions and legacy paths keep their handlers beside Codacy's templated paths.
  EXPECT_STREQ(router.match(Method::post, "/api/v3/admin/users", params).route->name, "createUser");
  EXPECT_STREQ(router.match(Method::post, "/api/v3/admin/users/7/tokens", params).route->name, "issueUserToken");
  EXPECT_STREQ(router.match(Method::get, "/api/v3/organizations/gh/acme/settings/tokens", params).route->name,
               "getTokenPolicy");
  EXPECT_STREQ(router.match(Method::post, "/2.0/coverage/abc/python", params).route->name, "sendCoverageReport");
  EXPECT_STREQ(router.match(Method::post, "/2.0/gh/acme/api/commit/abc/coverageFinal", params).route->name,
               "sendCoverageFinalByName");
  // Codacy's literal "installation" segment and its literal provider "gh" in the badge path.
  EXPECT_STREQ(router.match(Method::get, "/api/v3/organizations/gh/installation/42", params).route->name,
               "getOrganizationByInstallationId");
  EXPECT_STREQ(router.match(Method::post, "/api/v3/organizations/gh/acme/repositories/api/badge", params).route->name,
               "createBadgePullRequest");
  EXPECT_EQ(router.match(Method::post, "/api/v3/organizations/gl/acme/repositories/api/badge", params).outcome,
            Outcome::not_found);
  // An organization that happens to be called "installation" is still ours to serve.
  EXPECT_STREQ(router.match(Method::get, "/api/v3/organizations/gh/installation", params).route->name,
               "getOrganization");
}

}  // namespace
}  // namespace rt::server
