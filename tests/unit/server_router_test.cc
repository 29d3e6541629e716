// Router matching and percent-decoding: operation names, parameters decoded once, 404 versus 405 with
// the Allow list, and malformed escapes.
#include <gtest/gtest.h>

#include "server/router.h"

namespace rt::server {
namespace {

using Outcome = RouteMatch::Outcome;

TEST(ServerRouter, MatchesOperationAndDecodesParametersOnce) {
  Router router = make_router();
  std::vector<std::string> params;
  RouteMatch m = router.match(Method::get, "/api/v3/organizations/gh/ac%20me/repositories/a%252Fb", params);
  ASSERT_EQ(m.outcome, Outcome::found);
  EXPECT_STREQ(m.route->name, "getRepository");
  EXPECT_EQ(params, (std::vector<std::string>{"gh", "ac me", "a%2Fb"}));
}

TEST(ServerRouter, EncodedSlashStaysInsideItsSegment) {
  Router router = make_router();
  std::vector<std::string> params;
  RouteMatch m = router.match(Method::get, "/api/v3/organizations/gh/acme/repositories/a%2F..", params);
  ASSERT_EQ(m.outcome, Outcome::found);
  EXPECT_STREQ(m.route->name, "getRepository");
  EXPECT_EQ(params.at(2), "a/..");
}

TEST(ServerRouter, LiteralSegmentsAndParametersShareAPath) {
  Router router = make_router();
  std::vector<std::string> params;
  const std::string base = "/api/v3/organizations/gh/acme/repositories/api/tokens/";
  EXPECT_STREQ(router.match(Method::post, base + "delete", params).route->name, "deleteRepositoryApiTokens");
  RouteMatch del = router.match(Method::del, base + "42", params);
  ASSERT_EQ(del.outcome, Outcome::found);
  EXPECT_STREQ(del.route->name, "deleteRepositoryApiToken");
  EXPECT_EQ(params.at(3), "42");
}

TEST(ServerRouter, WrongMethodIs405WithAllow) {
  Router router = make_router();
  std::vector<std::string> params;
  RouteMatch m = router.match(Method::put, "/api/v3/user/tokens", params);
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, POST");
  EXPECT_EQ(router.match(Method::other, "/api/v3/health", params).allow, "GET");
}

TEST(ServerRouter, UnknownPathsAre404) {
  Router router = make_router();
  std::vector<std::string> params;
  EXPECT_EQ(router.match(Method::get, "/api/v3/nope", params).outcome, Outcome::not_found);
  EXPECT_EQ(router.match(Method::get, "/api/v3/user/", params).outcome, Outcome::not_found);
  EXPECT_EQ(router.match(Method::get, "/api/v3/organizations/gh//repositories", params).outcome, Outcome::not_found);
  EXPECT_EQ(router.match(Method::get, "", params).outcome, Outcome::bad_path);
}

TEST(ServerRouter, MalformedEscapeIsBadPath) {
  Router router = make_router();
  std::vector<std::string> params;
  EXPECT_EQ(router.match(Method::get, "/api/v3/organizations/gh/%zz", params).outcome, Outcome::bad_path);
  EXPECT_EQ(router.match(Method::get, "/api/v3/organizations/gh/ab%2", params).outcome, Outcome::bad_path);
}

TEST(ServerPercentDecode, DecodesOnceAndKeepsPlus) {
  std::string out;
  ASSERT_TRUE(percent_decode("a%41%2fb+c%25", out));
  EXPECT_EQ(out, "aA/b+c%");
  EXPECT_FALSE(percent_decode("%", out));
  EXPECT_FALSE(percent_decode("%4", out));
  EXPECT_FALSE(percent_decode("%g1", out));
}

TEST(ServerQuery, ARepeatedParameterIsFoundByItsDecodedName) {
  EXPECT_EQ(repeated_query_parameter(""), std::nullopt);
  EXPECT_EQ(repeated_query_parameter("limit=10&cursor=abc&search=x"), std::nullopt);
  EXPECT_EQ(repeated_query_parameter("limit=10&limit=20x"), "limit");
  EXPECT_EQ(repeated_query_parameter("a&b=1&a=2"), "a");
  EXPECT_EQ(repeated_query_parameter("%6Cimit=1&limit=2"), "limit");
  EXPECT_EQ(repeated_query_parameter("my+key=1&my%20key=2"), "my key");
  EXPECT_EQ(repeated_query_parameter("a=1&&b=2&"), std::nullopt);  // empty pairs name nothing
  EXPECT_EQ(repeated_query_parameter("x%=1&x%=2"), "x%");          // a stray '%' is kept as typed
  std::string many;  // far more names than any handler reads, the repeat at the end
  for (int i = 0; i < 300; ++i) many += "k" + std::to_string(i) + "=1&";
  EXPECT_EQ(repeated_query_parameter(many + "k%32=1"), "k2");
}

}  // namespace
}  // namespace rt::server
