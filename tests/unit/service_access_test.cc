// Who may do what (API.md "Who may do what"), at the service level: instance admin, organization admin,
// members with admin/write/read grants, outsiders, and project tokens; plus admission and rate limits.
#include <chrono>
#include <thread>

#include "ratelimit/redis_limiter.h"
#include "service_fixture.h"

namespace rt::testing {
namespace {

using Req = CreateRepositoryTokenRequest;

TEST_F(ServiceTest, PermissionMatrixOnRepositoryAndTokenOperations) {
  make_world();
  ok(service_->add_repository(admin_, {"gh", "acme/site", "Public", {}}));
  Principal org_admin = add_user("org-admin");
  ASSERT_TRUE(service_->set_member_role(admin_, api_.org, org_admin.user.id, "admin").ok());
  Principal repo_admin = add_user("repo-admin"), writer = add_user("writer"), reader = add_user("reader");
  Principal member = add_user("member"), outsider = add_user("outsider");
  ASSERT_TRUE(grant(repo_admin, "api", "admin").ok());
  ASSERT_TRUE(grant(writer, "api", "write").ok());
  ASSERT_TRUE(grant(reader, "api", "read").ok());
  ASSERT_TRUE(service_->set_member_role(admin_, api_.org, member.user.id, "member").ok());

  struct Row {
    const Principal* who;
    ErrorKind get;    // getRepository(api); internal = allowed
    ErrorKind token;  // createRepositoryApiToken(api)
  };
  const ErrorKind allowed = ErrorKind::internal;
  for (auto [who, get, token] : {Row{&admin_, allowed, allowed}, Row{&org_admin, allowed, allowed},
                                 Row{&repo_admin, allowed, allowed}, Row{&writer, allowed, ErrorKind::forbidden},
                                 Row{&reader, allowed, ErrorKind::forbidden},
                                 Row{&member, ErrorKind::not_found, ErrorKind::not_found},
                                 Row{&outsider, ErrorKind::not_found, ErrorKind::not_found}}) {
    SCOPED_TRACE(who->describe());
    auto g = service_->get_repository(*who, api_);
    EXPECT_EQ(g.ok() ? allowed : g.error().kind, get);
    auto t = service_->create_repository_token(*who, api_, Req{});
    EXPECT_EQ(t.ok() ? allowed : t.error().kind, token);
  }
  // A member without a grant sees the public repository, read-only; an outsider sees nothing.
  EXPECT_EQ(ok(service_->get_repository(member, {{"gh", "acme"}, "site"})).permission, Permission::read);
  EXPECT_EQ(service_->get_repository(outsider, {{"gh", "acme"}, "site"}).error().kind, ErrorKind::not_found);
  EXPECT_EQ(service_->get_organization(outsider, api_.org).error().kind, ErrorKind::not_found);
  auto listed = ok(service_->list_repositories(member, api_.org, {}, PageRequest{}));
  ASSERT_EQ(listed.items.size(), 1u);
  EXPECT_EQ(listed.items[0].repository.name, "site");
  EXPECT_EQ(ok(service_->list_repositories(reader, api_.org, {}, PageRequest{})).total, 2);
  // Only organization admins manage members and repositories.
  EXPECT_EQ(service_->set_member_role(repo_admin, api_.org, outsider.user.id, "member").error().kind,
            ErrorKind::forbidden);
  EXPECT_EQ(service_->add_repository(repo_admin, {"gh", "acme/new", std::nullopt, {}}).error().kind,
            ErrorKind::forbidden);
  EXPECT_TRUE(service_->add_repository(org_admin, {"gh", "acme/new", std::nullopt, {}}).ok());
  EXPECT_EQ(service_->add_organization(org_admin, {"gh", "other", std::nullopt, std::nullopt}).error().kind,
            ErrorKind::forbidden);
  EXPECT_EQ(service_->list_audit(member, api_.org, std::nullopt, std::nullopt, PageRequest{}).error().kind,
            ErrorKind::forbidden);
}

TEST_F(ServiceTest, ProjectTokenReachesOnlyItsOwnRepositoryAndOnlyReads) {
  make_world();
  ok(service_->add_repository(admin_, {"gh", "acme/other", "Public", {}}));
  auto t = ok(service_->create_repository_token(admin_, api_, Req{"ci", std::nullopt}));
  Principal project = *admit_project(t.secret).principal;
  EXPECT_EQ(ok(service_->get_repository(project, api_)).repository.name, "api");
  EXPECT_EQ(service_->get_repository(project, {{"gh", "acme"}, "other"}).error().kind, ErrorKind::not_found);
  EXPECT_EQ(service_->list_repository_tokens(project, api_, PageRequest{}).error().kind, ErrorKind::forbidden);
  EXPECT_EQ(service_->create_repository_token(project, api_, Req{}).error().kind, ErrorKind::forbidden);
  EXPECT_EQ(service_->get_user(project).error().kind, ErrorKind::forbidden);
  EXPECT_EQ(service_->list_repositories(project, api_.org, {}, PageRequest{}).error().kind, ErrorKind::forbidden);
}

TEST_F(ServiceTest, AdmissionRefusesMissingMalformedAndUnknownCredentials) {
  make_world();
  Admission none = service_->admit(Credentials{std::nullopt, std::nullopt, "10.0.0.1"});
  ASSERT_TRUE(none.error);
  EXPECT_EQ(none.error->kind, ErrorKind::unauthorized);
  EXPECT_NE(none.error->message.find("api-token"), std::string::npos);
  std::string bad = admin_secret_;
  bad.back() = bad.back() == 'a' ? 'b' : 'a';
  Admission checksum = service_->admit(Credentials{bad, std::nullopt, "10.0.0.1"});
  ASSERT_TRUE(checksum.error);
  EXPECT_NE(checksum.error->message.find("checksum"), std::string::npos);
  SystemRandom r;
  Admission unknown = service_->admit(Credentials{generate_token(TokenKind::account, r), std::nullopt, "10.0.0.1"});
  ASSERT_TRUE(unknown.error);
  EXPECT_NE(unknown.error->message.find("unknown"), std::string::npos);
}

TEST_F(ServiceTest, RateLimitsPerCredentialAndPerAddressForFailures) {
  open(ServiceOptions{{"per-token", 1, 3}, {"per-address", 1, 2}, 1000});
  make_world();  // uses one admission
  int allowed = 1;
  while (service_->admit(Credentials{admin_secret_, std::nullopt, "10.0.0.1"}).principal) ++allowed;
  EXPECT_EQ(allowed, 3);
  Admission refused = service_->admit(Credentials{admin_secret_, std::nullopt, "10.0.0.1"});
  ASSERT_TRUE(refused.error);
  EXPECT_EQ(refused.error->kind, ErrorKind::throttled);
  ASSERT_NE(refused.rule, nullptr);
  EXPECT_EQ(refused.rule->name, "per-token");
  EXPECT_GT(refused.decision.retry_after, 0);
  // Guessing from one address is slowed: failures count against the address, then 429 instead of 401.
  EXPECT_EQ(service_->admit(Credentials{"rtka_nope", std::nullopt, "10.9.9.9"}).error->kind, ErrorKind::unauthorized);
  EXPECT_EQ(service_->admit(Credentials{"rtka_nope", std::nullopt, "10.9.9.9"}).error->kind, ErrorKind::unauthorized);
  EXPECT_EQ(service_->admit(Credentials{"rtka_nope", std::nullopt, "10.9.9.9"}).error->kind, ErrorKind::throttled);
  // Another address is unaffected.
  EXPECT_EQ(service_->admit(Credentials{"rtka_nope", std::nullopt, "10.9.9.8"}).error->kind, ErrorKind::unauthorized);
}

// A shared limiter whose Redis cannot be reached (nothing listens on port 1): fail-closed refuses with
// `unavailable` (503), never `throttled`; fail-open admits on per-node limits. Either way the event-loop
// fast path declines, since the limiter may wait on the network.
TEST_F(ServiceTest, UnreachableSharedLimiterFailsClosedAsUnavailableOrOpenOnLocalLimits) {
  make_world();
  const std::string project = ok(service_->create_repository_token(admin_, api_, Req{})).secret;
  ServiceOptions limited{{"per-token", 100, 100}, {"per-address", 100, 100}, 1000};
  for (bool fail_open : {false, true}) {
    SCOPED_TRACE(fail_open ? "fail-open" : "fail-closed");
    auto redis = RedisLimiter::create("redis://127.0.0.1:1", RedisLimiterOptions{.fail_open = fail_open,
                                                                                 .log = [](std::string_view) {}});
    ASSERT_TRUE(redis.ok());
    Service service(*store_, hasher_, clock_, random_, **redis, limited);
    Admission a = service.admit(Credentials{admin_secret_, std::nullopt, "10.0.0.1"});
    Credentials as_project{std::nullopt, project, "10.0.0.1"};
    (void)service.admit(as_project);  // the token is now in this service's cache
    EXPECT_FALSE(service.try_admit_from_memory(as_project)) << "a blocking limiter must not run on the event loop";
    if (fail_open) {
      EXPECT_TRUE(a.principal) << a.error->message;
      continue;
    }
    ASSERT_TRUE(a.error);
    EXPECT_FALSE(a.principal);
    EXPECT_EQ(a.error->kind, ErrorKind::unavailable);
    EXPECT_NE(a.error->message.find("rate limit store unreachable"), std::string::npos) << a.error->message;
    EXPECT_EQ(a.rule, nullptr) << "no RateLimit headers: nobody's budget is known";
    EXPECT_GE(a.decision.retry_after, 1);
  }
}

TEST_F(ServiceTest, AccountTokensCreateListDeleteAndExpire) {
  make_world();
  auto issued = ok(service_->create_user_token(admin_, format_rfc3339(kStart + 60)));
  EXPECT_TRUE(issued.secret.starts_with("rtka_"));
  EXPECT_EQ(ok(service_->list_user_tokens(admin_, PageRequest{})).total, 2);
  clock_.advance(60);
  Admission expired = service_->admit(Credentials{issued.secret, std::nullopt, "127.0.0.1"});
  ASSERT_TRUE(expired.error);
  EXPECT_EQ(expired.error->kind, ErrorKind::expired);
  ASSERT_TRUE(service_->delete_user_token(admin_, issued.token.id).ok());
  EXPECT_EQ(service_->delete_user_token(admin_, issued.token.id).error().kind, ErrorKind::not_found);
  EXPECT_EQ(service_->create_user_token(admin_, format_rfc3339(kStart)).error().kind, ErrorKind::invalid);
}

TEST_F(ServiceTest, BadInputChangesNothing) {
  make_world();
  EXPECT_EQ(service_->add_organization(admin_, {"xx", "acme2", std::nullopt, std::nullopt}).error().kind,
            ErrorKind::invalid);
  EXPECT_NE(service_->add_organization(admin_, {"xx", "a", std::nullopt, std::nullopt}).error().message.find("gh, ghe"),
            std::string::npos);
  for (std::string path : std::vector<std::string>{"acme", "acme/a/b", "acme/..", "acme/.", "acme/a b", "acme/x';--", "/api"})
    EXPECT_EQ(service_->add_repository(admin_, {"gh", path, std::nullopt, {}}).error().kind, ErrorKind::invalid) << path;
  EXPECT_EQ(service_->add_repository(admin_, {"gh", "acme/api", std::nullopt, {}}).error().kind, ErrorKind::conflict);
  EXPECT_EQ(service_->add_repository(admin_, {"gh", "acme/x", "Secret", {}}).error().kind, ErrorKind::invalid);
  EXPECT_EQ(ok(service_->list_repositories(admin_, api_.org, {}, PageRequest{})).total, 1);
  EXPECT_EQ(service_->set_member_role(admin_, api_.org, 424242, "member").error().kind, ErrorKind::not_found);
  EXPECT_EQ(service_->set_member_role(admin_, api_.org, admin_.user.id, "owner").error().kind, ErrorKind::invalid);
  // Names come from the command line too (admin create-user): bytes that are not UTF-8 are refused
  // before any store sees them (PostgreSQL would refuse them with its own words).
  for (std::string name : {"\xff", "caf\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "tab\there"}) {
    auto made = service_->bootstrap_user({name, std::nullopt, false});
    ASSERT_FALSE(made.ok()) << name;
    EXPECT_EQ(made.error().kind, ErrorKind::invalid);
    EXPECT_NE(made.error().message.find("UTF-8"), std::string::npos) << made.error().message;
  }
  EXPECT_TRUE(service_->bootstrap_user({"caf\xc3\xa9 \xf0\x9f\x94\x91", std::nullopt, false}).ok())
      << "well-formed UTF-8 (an accent, an emoji) is fine";
}

// Roles and grants are cached like tokens: a change through this node applies at once, a change through
// another node (a second Service on the same database) within the cache bound.
TEST_F(ServiceTest, RoleChangesApplyAtOnceHereAndWithinTheCacheBoundOnAnotherNode) {
  make_world();
  Principal bob = add_user("bob");
  ServiceOptions options{{"per-token", 0, 1}, {"per-address", 0, 1}, 1000};
  options.cache_ttl_ms = 200;
  Service other(*store_, hasher_, clock_, random_, limiter_, options);
  EXPECT_EQ(service_->get_repository(bob, api_).error().kind, ErrorKind::not_found);
  EXPECT_EQ(other.get_repository(bob, api_).error().kind, ErrorKind::not_found);

  ASSERT_TRUE(service_->set_member_role(admin_, {"gh", "acme"}, bob.user.id, "admin").ok());
  EXPECT_TRUE(service_->get_repository(bob, api_).ok()) << "a promotion through this node applies at once";
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_TRUE(other.get_repository(bob, api_).ok()) << "and through another node within --cache-ttl-ms";

  ASSERT_TRUE(service_->set_member_role(admin_, {"gh", "acme"}, bob.user.id, "member").ok());
  EXPECT_EQ(service_->get_repository(bob, api_).error().kind, ErrorKind::not_found) << "demoted, no grant";
  ASSERT_TRUE(grant(bob, "api", "read").ok());
  EXPECT_TRUE(service_->get_repository(bob, api_).ok()) << "a grant applies at once";
  ASSERT_TRUE(service_->remove_member(admin_, {"gh", "acme"}, bob.user.id).ok());
  EXPECT_EQ(service_->get_repository(bob, api_).error().kind, ErrorKind::not_found) << "removal applies at once";
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(other.get_repository(bob, api_).error().kind, ErrorKind::not_found);
}

// The anonymous principal (no credential, on the routes that read Public repositories) reads Public
// repositories and nothing else: every other call refuses it, so a route marked by mistake fails closed.
TEST_F(ServiceTest, AnonymousReadsPublicRepositoriesOnlyAndIsRefusedEverythingElse) {
  make_world();
  ok(service_->add_repository(admin_, {"gh", "acme/site", "Public", {}}));
  ok(service_->add_repository(admin_, {"gh", "acme/club", "LoginPublic", {}}));
  Admission none = service_->admit(Credentials{std::nullopt, std::nullopt, "127.0.0.1"}, true);
  ASSERT_TRUE(none.principal) << none.error->message;
  const Principal anon = *none.principal;
  EXPECT_EQ(anon.describe(), "anonymous");
  EXPECT_FALSE(service_->admit(Credentials{std::nullopt, std::nullopt, "127.0.0.1"}).principal)
      << "only routes that allow it admit no credential";
  EXPECT_FALSE(service_->admit(Credentials{std::string("rtka_bad"), std::nullopt, "127.0.0.1"}, true).principal)
      << "a credential that is sent is checked";

  const RepoRef site{{"gh", "acme"}, "site"};
  EXPECT_EQ(ok(service_->get_repository(anon, site)).repository.name, "site");
  EXPECT_FALSE(ok(service_->get_repository(anon, site)).permission.has_value());
  EXPECT_TRUE(ok(service_->coverage_status(anon, site, std::nullopt)).uploads.empty());
  for (const RepoRef& hidden : {api_, RepoRef{{"gh", "acme"}, "club"}, RepoRef{{"gh", "nobody"}, "x"}}) {
    auto r = service_->get_repository(anon, hidden);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ErrorKind::not_found);
    EXPECT_EQ(service_->repository_coverage(anon, hidden).error().kind, ErrorKind::not_found);
  }
  auto listed = ok(service_->list_repositories(anon, api_.org, {}, {}));
  ASSERT_EQ(listed.items.size(), 1u);
  EXPECT_EQ(listed.items[0].repository.name, "site");

  EXPECT_EQ(service_->get_user(anon).error().kind, ErrorKind::unauthorized);
  EXPECT_EQ(service_->get_organization(anon, api_.org).error().kind, ErrorKind::unauthorized);
  EXPECT_EQ(service_->list_people(anon, api_.org, "", {}).error().kind, ErrorKind::unauthorized);
  EXPECT_EQ(service_->add_people(anon, api_.org, {"a@example.org"}).error().kind, ErrorKind::unauthorized);
  EXPECT_EQ(service_->list_audit(anon, api_.org, std::nullopt, std::nullopt, {}).error().kind,
            ErrorKind::unauthorized);
  EXPECT_FALSE(service_->add_repository(anon, {"gh", "acme/new", "Public", {}}).ok());
  EXPECT_FALSE(service_->delete_repository(anon, site).ok());
  EXPECT_FALSE(service_->list_repository_tokens(anon, site, {}).ok());
  EXPECT_FALSE(service_->create_repository_token(anon, site, {}).ok());
  EXPECT_FALSE(service_->set_repository_permission(anon, site, admin_.user.id, "read").ok());
  CoverageTarget upload{.named = true, .provider = "gh", .org = "acme", .repo = "site", .commit = "c1",
                        .language = "go"};
  EXPECT_FALSE(service_->upload_coverage(anon, upload, R"({"fileReports": []})", false).ok());
  CoverageTarget by_token{.named = false, .provider = std::nullopt, .org = {}, .repo = {}, .commit = "c1",
                          .language = "go"};
  EXPECT_FALSE(service_->upload_coverage(anon, by_token, R"({"fileReports": []})", false).ok());
  EXPECT_TRUE(ok(service_->coverage_status(admin_, site, std::nullopt)).uploads.empty()) << "nothing was stored";
}

}  // namespace
}  // namespace rt::testing
