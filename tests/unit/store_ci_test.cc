// Shared Store suite: secretless CI — trust rules (create, list per repository and per issuer, delete only
// on their own repository, gone with the repository), CI-only tokens keep their mark and are purged only
// once expired before the cutoff, and exchanged JWT ids refuse a replay until their expiry, then are forgotten.
#include "store_test.h"

namespace rt::testing {
namespace {

constexpr UnixTime kNow = 1'800'000'000;

CiTrustRule rule_for(Id repository_id, std::string issuer) {
  return CiTrustRule{.id = 0, .repository_id = repository_id, .issuer = std::move(issuer), .audience = "",
                     .claims_json = R"({"repository_id":"1"})", .lifetime_minutes = 15, .binds_only_names = false,
                     .created_at = kNow, .created_by = "user:test"};
}

TEST_P(StoreTest, KeepsCiTrustRulesPerRepositoryAndIssuer) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Repository api = add_repo(o.id, "api");
  Repository web = add_repo(o.id, "web");
  CiTrustRule a = must(store().create_ci_trust_rule(rule_for(api.id, "https://gitlab.com"), audit_event(o.id, "x")));
  CiTrustRule named = rule_for(api.id, "https://token.actions.githubusercontent.com");
  named.audience = "https://rt.example";
  named.binds_only_names = true;
  named.lifetime_minutes = 60;
  CiTrustRule b = must(store().create_ci_trust_rule(named, audit_event(o.id, "x")));
  CiTrustRule c = must(store().create_ci_trust_rule(rule_for(web.id, "https://gitlab.com"), audit_event(o.id, "x")));
  EXPECT_LT(a.id, b.id);
  EXPECT_EQ(store().create_ci_trust_rule(rule_for(99999, "https://gitlab.com"), audit_event(o.id, "x")).error().kind,
            ErrorKind::not_found);

  auto listed = must(store().list_ci_trust_rules(api.id));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1].id, b.id);
  EXPECT_EQ(listed[1].audience, "https://rt.example");
  EXPECT_TRUE(listed[1].binds_only_names);
  EXPECT_EQ(listed[1].lifetime_minutes, 60);
  EXPECT_EQ(listed[1].claims_json, R"({"repository_id":"1"})");
  EXPECT_EQ(listed[1].created_by, "user:test");
  auto gitlab = must(store().find_ci_trust_rules("https://gitlab.com"));
  ASSERT_EQ(gitlab.size(), 2u);
  EXPECT_EQ(gitlab[0].id, a.id);
  EXPECT_EQ(gitlab[1].id, c.id);

  EXPECT_EQ(store().delete_ci_trust_rule(web.id, a.id, audit_event(o.id, "x")).error().kind, ErrorKind::not_found);
  ASSERT_TRUE(store().delete_ci_trust_rule(api.id, a.id, audit_event(o.id, "x")).ok());
  EXPECT_EQ(must(store().list_ci_trust_rules(api.id)).size(), 1u);
  ASSERT_TRUE(store().delete_repository(web.id, audit_event(o.id, "x")).ok());
  EXPECT_TRUE(must(store().find_ci_trust_rules("https://gitlab.com")).empty());
}

TEST_P(StoreTest, CiOnlyTokensKeepTheirMark) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Repository api = add_repo(o.id, "api");
  NewRepositoryToken t{.repository_id = api.id, .name = "ci-1", .hash = test_hash(1), .created_at = kNow,
                       .expires_at = kNow + 900, .ci_only = true};
  EXPECT_TRUE(must(store().create_repository_token(t, kNow, 100, audit_event(o.id, "x"))).ci_only);
  EXPECT_TRUE(must(store().find_repository_token(test_hash(1))).ci_only);
  t.name = "plain";
  t.hash = test_hash(2);
  t.ci_only = false;
  must(store().create_repository_token(t, kNow, 100, audit_event(o.id, "x")));
  EXPECT_FALSE(must(store().find_repository_token(test_hash(2))).ci_only);
}

TEST_P(StoreTest, PurgingTakesOnlyCiTokensExpiredBeforeTheCutoffOldestFirst) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Repository api = add_repo(o.id, "api");
  auto add = [&](int n, UnixTime expires_at, bool ci) {
    NewRepositoryToken t{.repository_id = api.id, .name = "t-" + std::to_string(n), .hash = test_hash(n),
                         .created_at = kNow - 7200, .expires_at = expires_at, .ci_only = ci};
    must(store().create_repository_token(t, kNow - 7200, 100, audit_event(o.id, "x")));
  };
  add(1, kNow - 5000, true);   // CI, long expired: purged first
  add(2, kNow - 4000, true);   // CI, expired before the cutoff: purged second
  add(3, kNow - 4500, false);  // not CI: never purged, however old
  add(4, kNow - 100, true);    // CI, expired after the cutoff: kept
  add(5, kNow + 600, true);    // CI, live: kept
  EXPECT_EQ(must(store().purge_expired_ci_tokens(kNow - 3600, 1)), 1);
  EXPECT_EQ(store().find_repository_token(test_hash(1)).error().kind, ErrorKind::not_found);
  EXPECT_TRUE(store().find_repository_token(test_hash(2)).ok());
  EXPECT_EQ(must(store().purge_expired_ci_tokens(kNow - 3600, 1000)), 1);
  EXPECT_EQ(must(store().purge_expired_ci_tokens(kNow - 3600, 1000)), 0);
  for (int kept : {3, 4, 5}) EXPECT_TRUE(store().find_repository_token(test_hash(kept)).ok()) << kept;
  EXPECT_EQ(must(store().list_repository_tokens(api.id, std::nullopt, 100)).total, 3);
}

TEST_P(StoreTest, AnExchangedJwtIdIsRefusedUntilItsExpiry) {
  EXPECT_TRUE(must(store().record_ci_jti("https://gitlab.com", "j1", kNow + 60, kNow)));
  EXPECT_FALSE(must(store().record_ci_jti("https://gitlab.com", "j1", kNow + 60, kNow + 30)));
  EXPECT_TRUE(must(store().record_ci_jti("https://other.example", "j1", kNow + 60, kNow)));  // per issuer
  EXPECT_FALSE(must(store().record_ci_jti("https://gitlab.com", "j1", kNow + 60, kNow + 60)));
  // Past its expiry the entry is forgotten (the JWT itself is refused as expired by then).
  EXPECT_TRUE(must(store().record_ci_jti("https://gitlab.com", "j1", kNow + 200, kNow + 61)));
}

}  // namespace
}  // namespace rt::testing
