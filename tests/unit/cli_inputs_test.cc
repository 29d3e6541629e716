// CLI input parsing: expiry, durations, rates, token names, globs, repository files.
#include <gtest/gtest.h>

#include <fstream>

#include "cli/inputs.h"
#include "cli/provision.h"
#include "support/server_process.h"

namespace rt::cli {

TEST(Inputs, ExpiryAsDurationOrDate) {
  const UnixTime now = 1'800'000'000;
  EXPECT_EQ(*parse_expiry("90d", now), now + 90 * 86400);
  EXPECT_EQ(*parse_expiry("12h", now), now + 12 * 3600);
  EXPECT_EQ(*parse_expiry("2030-01-01", now), *parse_rfc3339("2030-01-01T00:00:00Z"));
  auto past = parse_expiry("2020-01-01", now);
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.error().message.find("--expires"), std::string::npos);
  EXPECT_NE(past.error().message.find("past"), std::string::npos);
  for (const char* bad : {"", "90", "d", "-5d", "90x", "2027-13-01", "tomorrow"}) {
    auto r = parse_expiry(bad, now);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid);
    EXPECT_EQ(r.error().message.rfind("--expires", 0), 0u) << r.error().message;
  }
}

TEST(Inputs, Rates) {
  EXPECT_DOUBLE_EQ(*parse_rate("50"), 50);
  EXPECT_DOUBLE_EQ(*parse_rate("50/s"), 50);
  EXPECT_DOUBLE_EQ(*parse_rate("3000/m"), 50);
  EXPECT_DOUBLE_EQ(*parse_rate("2500/5m"), 2500.0 / 300);
  for (const char* bad : {"", "0", "-1/s", "fast", "50/y", "50/"}) EXPECT_FALSE(parse_rate(bad).ok()) << bad;
}

TEST(Inputs, TokenNames) {
  EXPECT_TRUE(check_token_name("ci-coverage", 87).ok());
  EXPECT_FALSE(check_token_name("", 87).ok());
  EXPECT_FALSE(check_token_name("has space", 87).ok());
  EXPECT_FALSE(check_token_name("under_score", 87).ok());
  EXPECT_FALSE(check_token_name(std::string(88, 'a'), 87).ok());
}

TEST(Inputs, SelectionGlobs) {
  Selection s;
  EXPECT_TRUE(s.selects("anything"));
  s.match = {"api-*", "web"};
  s.exclude = {"*-legacy"};
  EXPECT_TRUE(s.selects("api-gateway"));
  EXPECT_TRUE(s.selects("web"));
  EXPECT_FALSE(s.selects("website"));
  EXPECT_FALSE(s.selects("api-legacy"));
  s.listed = std::unordered_set<std::string>{"api-gateway"};
  EXPECT_FALSE(s.selects("web"));
  EXPECT_TRUE(s.selects("api-gateway"));
}

TEST(Inputs, RepositoryFileSkipsBlanksAndComments) {
  test::TempDir dir;
  auto path = (dir.path() / "repos.txt").string();
  std::ofstream(path) << "# our repositories\n\napi\n  web  \r\nworker # trailing comment\napi\n\t\n";
  auto names = read_repository_file(path);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"api", "web", "worker"}));
  std::ofstream(path) << "api\nnot a name\n";
  auto bad = read_repository_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line 2"), std::string::npos);
  EXPECT_FALSE(read_repository_file((dir.path() / "missing").string()).ok());
}

TEST(Provision, TokenFamilyIsTheNameOrTheNamePlusAGeneratedSuffix) {
  EXPECT_TRUE(in_token_family("ci-coverage", "ci-coverage"));
  EXPECT_TRUE(in_token_family("ci-coverage-abc123def456", "ci-coverage"));
  EXPECT_FALSE(in_token_family("ci-coverage-ABC123DEF456", "ci-coverage"));
  EXPECT_FALSE(in_token_family("ci-coverage-abc", "ci-coverage"));
  EXPECT_FALSE(in_token_family("ci-coverage2", "ci-coverage"));
  EXPECT_FALSE(in_token_family("ci-coverage-abc123def456", "ci"));  // "coverage-abc..." is not a suffix
  EXPECT_FALSE(in_token_family("deploy", "ci-coverage"));
}

}  // namespace rt::cli
