// The trust-rule index answers as a pass over every rule in id order would: the matching rule of lowest
// id, whether filed under an id claim or binding only names, and "audience seen" over all of the issuer's.
#include "ci/rule_index.h"

#include <gtest/gtest.h>

namespace rt {
namespace {

CiTrustRule rule(Id id, std::string claims_json, std::string audience = "") {
  CiTrustRule r;
  r.id = id;
  r.repository_id = 100 + id;
  r.issuer = "https://token.actions.githubusercontent.com";
  r.audience = std::move(audience);
  r.claims_json = std::move(claims_json);
  return r;
}

std::map<std::string, std::string> job(std::string repository_id, std::string repository, std::string ref) {
  return {{"repository_id", std::move(repository_id)}, {"repository", std::move(repository)},
          {"repository_owner_id", "77"}, {"ref", std::move(ref)}};
}

TEST(CiRuleIndex, TheLowestMatchingRuleWinsWhereverItIsFiled) {
  CiRuleIndex index(CiIssuerKind::github,
                    {rule(5, R"({"repository_id": "1001", "ref": "refs/heads/*"})"),
                     rule(3, R"({"repository": "ACME/*", "ref": "refs/tags/*"})"),  // names only
                     rule(4, R"({"repository_owner_id": "77", "ref": "refs/heads/main"})"),
                     rule(6, R"({"repository_id": "1002"})")},
                    "https://repotokens.example");
  const std::set<std::string> aud = {"https://repotokens.example"};
  auto main = index.match(job("1001", "acme/api", "refs/heads/main"), aud);
  ASSERT_NE(main.rule, nullptr);
  EXPECT_EQ(main.rule->id, 4);  // the owner-wide rule is older than the repository's own
  auto branch = index.match(job("1001", "acme/api", "refs/heads/dev"), aud);
  ASSERT_NE(branch.rule, nullptr);
  EXPECT_EQ(branch.rule->id, 5);
  auto tag = index.match(job("9", "acme/other", "refs/tags/v1"), aud);  // names, case-insensitively
  ASSERT_NE(tag.rule, nullptr);
  EXPECT_EQ(tag.rule->id, 3);
  auto none = index.match(job("1002", "acme/web", "refs/pull/1/merge"), aud);
  ASSERT_NE(none.rule, nullptr);
  EXPECT_EQ(none.rule->id, 6);
  auto stranger = job("1003", "evil/api", "refs/heads/main");
  stranger["repository_owner_id"] = "78";
  EXPECT_EQ(index.match(stranger, aud).rule, nullptr);
}

TEST(CiRuleIndex, AudiencesAreTheRulesOrTheDefault) {
  CiRuleIndex index(CiIssuerKind::github,
                    {rule(1, R"({"repository_id": "1001"})", "https://custom.example"),
                     rule(2, R"({"repository_id": "1002"})")},
                    "https://repotokens.example");
  auto wrong = index.match(job("1001", "acme/api", "refs/heads/main"), {"https://elsewhere.example"});
  EXPECT_EQ(wrong.rule, nullptr);
  EXPECT_FALSE(wrong.audience_seen);
  auto other = index.match(job("1001", "acme/api", "refs/heads/main"), {"https://repotokens.example"});
  EXPECT_EQ(other.rule, nullptr);  // rule 1 expects its own audience
  EXPECT_TRUE(other.audience_seen);
  auto both = index.match(job("1001", "acme/api", "refs/heads/main"), {"https://custom.example", "x"});
  ASSERT_NE(both.rule, nullptr);
  EXPECT_EQ(both.rule->id, 1);
  // Without a default audience, a rule that names none can never match.
  CiRuleIndex no_default(CiIssuerKind::github, {rule(2, R"({"repository_id": "1002"})")}, "");
  EXPECT_EQ(no_default.match(job("1002", "acme/web", "refs/heads/main"), {""}).rule, nullptr);
}

TEST(CiRuleIndex, GitLabRulesAreFiledUnderProjectId) {
  CiRuleIndex index(CiIssuerKind::gitlab, {rule(1, R"({"project_id": "42", "ref": "main"})")}, "aud");
  auto hit = index.match({{"project_id", "42"}, {"ref", "main"}}, {"aud"});
  ASSERT_NE(hit.rule, nullptr);
  EXPECT_EQ(index.match({{"project_id", "43"}, {"ref", "main"}}, {"aud"}).rule, nullptr);
  EXPECT_EQ(index.match({{"repository_id", "42"}, {"ref", "main"}}, {"aud"}).rule, nullptr);
}

}  // namespace
}  // namespace rt
