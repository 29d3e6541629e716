// Rate limits against a real server: per credential (the 6th quick request of a 5/s, burst-5 budget is
// refused with Retry-After and the IETF RateLimit headers, and the budget is back after Retry-After),
// the Codacy-Cloud style 503, per client address for failed authentication, and the unlimited health.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/secret.h"
#include "support/api_fixture.h"

namespace rt::test {
namespace {

ServerOptions limited(std::vector<std::string> more = {}) {
  ServerOptions o;
  o.extra_args = {"--rate-limit-per-token", "5", "--rate-burst", "5"};
  o.extra_args.insert(o.extra_args.end(), more.begin(), more.end());
  return o;
}

// A fresh user whose token has used none of its budget (the admin spends two requests making it).
TestUser fresh_user(ServerProcess& server, HttpClient& http) {
  std::string admin = server.create_user_offline("admin", true);
  return create_user(http, admin, "limited");
}

TEST(RateLimit, SixthQuickRequestIs429WithHeadersAndTheLimitRecovers) {
  ServerProcess server(limited());
  HttpClient http(server.base_url());
  TestUser u = fresh_user(server, http);
  for (int i = 0; i < 5; ++i) {
    auto r = http.get("/api/v3/user", {api_token(u.token)});
    ASSERT_EQ(r.status, 200) << "request " << i + 1 << ": " << r.body;
    EXPECT_FALSE(r.header("ratelimit").empty()) << "successful responses carry RateLimit too";
  }
  auto r = http.get("/api/v3/user", {api_token(u.token)});
  ASSERT_TRUE(IsApiError(r, 429));
  EXPECT_FALSE(r.header("ratelimit-policy").empty());
  EXPECT_FALSE(r.header("ratelimit").empty());
  std::string retry_after = r.header("retry-after");
  ASSERT_FALSE(retry_after.empty());
  char* end = nullptr;
  long seconds = std::strtol(retry_after.c_str(), &end, 10);
  ASSERT_TRUE(end && *end == '\0' && seconds >= 1 && seconds <= 5) << "Retry-After: " << retry_after;
  EXPECT_NE(r.header("ratelimit-policy").find('5'), std::string::npos) << r.header("ratelimit-policy");

  // Never limited: health, version, metrics; nor is another credential's budget touched.
  for (int i = 0; i < 30; ++i) ASSERT_EQ(http.get("/api/v3/health").status, 200);
  EXPECT_EQ(http.get("/api/v3/version").status, 200);
  EXPECT_EQ(http.get("/metrics").status, 200);

  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  r = http.get("/api/v3/user", {api_token(u.token)});
  EXPECT_EQ(r.status, 200) << "the limit did not recover after Retry-After: " << r.body;
}

TEST(RateLimit, ThrottleStatus503ActsLikeCodacyCloud) {
  ServerProcess server(limited({"--throttle-status", "503"}));
  HttpClient http(server.base_url());
  TestUser u = fresh_user(server, http);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(http.get("/api/v3/user", {api_token(u.token)}).status, 200);
  auto r = http.get("/api/v3/user", {api_token(u.token)});
  EXPECT_EQ(r.status, 503) << r.body;
}

TEST(RateLimit, FailedAuthenticationIsLimitedPerAddress) {
  ServerProcess server(ServerOptions{.extra_args = {"--rate-limit-per-address", "1", "--rate-burst-per-address", "3"}});
  HttpClient http(server.base_url());
  std::string admin = server.create_user_offline("admin", true);
  rt::SystemRandom random;
  int unauthorized = 0, throttled = 0;
  for (int i = 0; i < 10; ++i) {
    auto r = http.get("/api/v3/user", {api_token(rt::generate_token(rt::TokenKind::account, random))});
    if (r.status == 401) ++unauthorized;
    if (r.status == 429) {
      ++throttled;
      EXPECT_FALSE(r.header("retry-after").empty());
    }
    EXPECT_TRUE(r.status == 401 || r.status == 429) << r.status << " " << r.body;
  }
  EXPECT_GE(unauthorized, 1);
  EXPECT_LE(unauthorized, 4);
  EXPECT_GE(throttled, 6) << "guessing tokens is not slowed down";
  // Requests without any credential count against the same address budget.
  EXPECT_EQ(http.get("/api/v3/user").status, 429);
  // A valid credential from the same address still works, and so does health.
  EXPECT_EQ(http.get("/api/v3/user", {api_token(admin)}).status, 200);
  EXPECT_EQ(http.get("/api/v3/health").status, 200);
}

}  // namespace
}  // namespace rt::test
