// Service::revoke_leaked on a real SQLite store: verdicts per secret (malformed without a lookup, unknown,
// revoked), a revoked token refused at once even though it was cached, a secret reported twice in one
// batch revoked once, `token.leaked` audited with the reported location, the GitLab caller check, and the
// GitHub caller check while no key set could be read yet (unavailable, not unauthorized).
#include <gtest/gtest.h>

#include "leaks/github_keys.h"
#include "service_fixture.h"
#include "support/ec_key.h"

namespace rt::testing {
namespace {

class ServiceLeaks : public ServiceTest {};

TEST_F(ServiceLeaks, VerdictsAndARevocationThatBeatsTheCache) {
  make_world();
  auto issued = ok(service_->create_repository_token(admin_, api_, {}));
  // Cached now: the next admission would be answered from memory.
  ASSERT_TRUE(admit_project(issued.secret).principal.has_value());
  std::string mistyped = issued.secret;
  mistyped[7] = mistyped[7] == 'a' ? 'b' : 'a';
  const std::vector<LeakReport> reports = {{issued.secret, "https://paste.example/1", "paste"},
                                           {mistyped, "", ""},
                                           {generate_token(TokenKind::account, random_), "", ""},
                                           {issued.secret, "https://paste.example/2", ""}};
  auto verdicts = ok(service_->revoke_leaked(LeakChannel::anyone, reports));
  EXPECT_EQ(verdicts, (std::vector<LeakVerdict>{LeakVerdict::revoked, LeakVerdict::malformed, LeakVerdict::unknown,
                                                LeakVerdict::revoked}));
  Admission after = admit_project(issued.secret);
  ASSERT_FALSE(after.principal.has_value()) << "the revoked token was still admitted (from the cache?)";
  EXPECT_EQ(after.error->kind, ErrorKind::unauthorized);

  auto audit = ok(service_->list_audit(admin_, {"gh", "acme"}, AuditFilter{.action = "token.leaked"}, {}));
  ASSERT_EQ(audit.items.size(), 1u) << "one secret reported twice was audited twice";
  EXPECT_NE(audit.items[0].event.details.find("location=https://paste.example/1"), std::string::npos)
      << audit.items[0].event.details;
  EXPECT_EQ(audit.items[0].event.details.find(issued.secret), std::string::npos);
}

TEST_F(ServiceLeaks, AnAccountTokenIsRevokedAndNoOtherOne) {
  make_world();
  Principal ada = add_user("ada");
  auto second = ok(service_->create_user_token(ada, std::nullopt));
  auto verdicts = ok(service_->revoke_leaked(LeakChannel::gitlab, std::vector<LeakReport>{{second.secret, "", ""}}));
  EXPECT_EQ(verdicts, std::vector<LeakVerdict>{LeakVerdict::revoked});
  EXPECT_FALSE(service_->admit(Credentials{second.secret, std::nullopt, "127.0.0.1"}).principal.has_value());
  EXPECT_TRUE(service_->admit(Credentials{admin_secret_, std::nullopt, "127.0.0.1"}).principal.has_value());
}

TEST_F(ServiceLeaks, BatchesOverTheLimitAreRefusedWhole) {
  make_world();
  auto issued = ok(service_->create_repository_token(admin_, api_, {}));
  std::vector<LeakReport> reports(kMaxLeakBatch, LeakReport{issued.secret, "", ""});
  reports.push_back({issued.secret, "", ""});
  auto refused = service_->revoke_leaked(LeakChannel::github, reports);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::invalid);
  EXPECT_TRUE(admit_project(issued.secret).principal.has_value()) << "a refused batch revoked a token";
}

TEST_F(ServiceLeaks, TheGitLabCallerNeedsTheConfiguredToken) {
  EXPECT_EQ(service_->check_gitlab_caller(std::string_view("anything")).error().kind, ErrorKind::not_found);
  ServiceOptions options{{"per-token", 0, 1}, {"per-address", 0, 1}, 1000};
  options.gitlab_revocation_token = std::string(40, 'k');
  open(options);
  EXPECT_TRUE(service_->check_gitlab_caller(std::string_view(std::string(40, 'k'))).ok());
  EXPECT_EQ(service_->check_gitlab_caller(std::string_view(std::string(39, 'k'))).error().kind, ErrorKind::unauthorized);
  EXPECT_EQ(service_->check_gitlab_caller(std::nullopt).error().kind, ErrorKind::unauthorized);
  EXPECT_EQ(service_->check_github_caller("k", "sig", "[]").error().kind, ErrorKind::not_found);
}

TEST_F(ServiceLeaks, WithoutAKeySetYetTheGitHubCallerIsUnavailableThenVerified) {
  test::EcTestKey key;
  bool down = true;
  auto keys = GitHubKeys::open(
      "test URL",
      [&]() -> Result<std::string> {
        if (down) return make_error(ErrorKind::unavailable, "GitHub key set https://127.0.0.1:1/k: fetch failed");
        return test::github_key_set("k", key.public_pem());
      },
      {.refresh_cooldown_seconds = 0, .start_without_keys = true});
  ASSERT_TRUE(keys.ok());
  ServiceOptions options{{"per-token", 0, 1}, {"per-address", 0, 1}, 1000};
  options.github_keys = *keys;
  open(options);
  const std::string body = "[]";
  auto refused = service_->check_github_caller("k", key.sign_base64(body), body);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::unavailable);
  EXPECT_EQ(refused.error().message.find("127.0.0.1"), std::string::npos) << "the configured URL reached a caller";
  EXPECT_EQ(service_->check_github_caller(std::nullopt, std::nullopt, body).error().kind, ErrorKind::unauthorized)
      << "an unsigned request learnt that the key set is missing";
  down = false;
  EXPECT_TRUE(service_->check_github_caller("k", key.sign_base64(body), body).ok());
}

}  // namespace
}  // namespace rt::testing
