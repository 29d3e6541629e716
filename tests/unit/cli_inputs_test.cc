// CLI input parsing: expiry, durations, timeouts, rates, token names, globs, repository files, suggestions.
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

TEST(Inputs, RatesNeedTheirUnit) {
  EXPECT_DOUBLE_EQ(*parse_rate("50/s"), 50);
  EXPECT_DOUBLE_EQ(*parse_rate("3000/m"), 50);
  EXPECT_DOUBLE_EQ(*parse_rate("3000/min"), 50);
  EXPECT_DOUBLE_EQ(*parse_rate("360/h"), 0.1);
  EXPECT_DOUBLE_EQ(*parse_rate("2500/5m"), 2500.0 / 300);
  for (const char* bad : {"", "0", "50", "-1/s", "fast", "50/y", "50/", "0/s"}) EXPECT_FALSE(parse_rate(bad).ok()) << bad;
  auto bare = parse_rate("50");
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.error().message.find("no unit"), std::string::npos) << bare.error().message;
  EXPECT_NE(bare.error().message.find("50/s"), std::string::npos) << bare.error().message;
}

TEST(Inputs, TimeoutsNeedTheirUnit) {
  EXPECT_EQ(*parse_timeout("5s", "--timeout"), 5000);
  EXPECT_EQ(*parse_timeout("500ms", "--timeout"), 500);
  EXPECT_EQ(*parse_timeout("1.5s", "--timeout"), 1500);
  EXPECT_EQ(*parse_timeout("2m", "--timeout"), 120000);
  for (const char* bad : {"", "30", "0s", "-1s", "5x", "2h", "soon"}) {
    auto r = parse_timeout(bad, "--connect-timeout");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message.rfind("--connect-timeout: ", 0), 0u) << r.error().message;
  }
  EXPECT_NE(parse_timeout("30", "--timeout").error().message.find("30s"), std::string::npos);
}

TEST(Inputs, NearestNameIsAPlausibleTypoOrNothing) {
  const std::vector<std::string> commands{"provision", "repos", "tokens", "expiring", "org", "repo", "help"};
  EXPECT_EQ(nearest_name("provison", commands), "provision");
  EXPECT_EQ(nearest_name("porvision", commands), "provision");  // a transposition is one edit
  EXPECT_EQ(nearest_name("token", commands), "tokens");
  EXPECT_EQ(nearest_name("Repos", commands), "repos");
  EXPECT_EQ(nearest_name("expir", commands), "expiring");  // the only name it begins
  EXPECT_FALSE(nearest_name("deploy", commands));
  EXPECT_FALSE(nearest_name("", commands));
  const std::vector<std::string> flags{"--rate", "--repos-file", "--dry-run", "--output"};
  EXPECT_EQ(nearest_name("--dryrun", flags), "--dry-run");
  EXPECT_EQ(nearest_name("--ouput", flags), "--output");
  EXPECT_FALSE(nearest_name("--bogus", flags));
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

namespace rt::cli {
namespace {

TEST(Inputs, ClaimsAreNameEqualsValueInOrderAndABadOneIsNamed) {
  auto claims = parse_claims({"repository_id=123", "ref=refs/heads/*", "workflow_ref=acme/api/.github/x.yml@refs/a=b"});
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(*claims, (std::vector<std::pair<std::string, std::string>>{
                         {"repository_id", "123"}, {"ref", "refs/heads/*"},
                         {"workflow_ref", "acme/api/.github/x.yml@refs/a=b"}}));
  for (const char* bad : {"repository_id", "=123", "ref=", "re f=x", "ref"}) {
    auto r = parse_claims({bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid);
    EXPECT_NE(r.error().message.find("expected NAME=VALUE"), std::string::npos) << r.error().message;
  }
  auto twice = parse_claims({"ref=a", "ref=b"});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("'ref' is given twice"), std::string::npos);
}

}  // namespace
}  // namespace rt::cli
