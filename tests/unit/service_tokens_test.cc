// Repository-token rules at the service level, with an exact clock: names, default and maximum lifetime,
// expiry, the 100-live-token limit, revocation, and the batched lastUsedAt.
#include <regex>

#include "service_fixture.h"

namespace rt::testing {
namespace {

using Req = CreateRepositoryTokenRequest;

TEST_F(ServiceTest, CreatedTokenAuthenticatesOnlyAsItsRepositoryAndIsNeverStoredInClear) {
  make_world();
  auto issued = ok(service_->create_repository_token(admin_, api_, Req{"ci", std::nullopt}));
  EXPECT_TRUE(issued.secret.starts_with("rtkr_"));
  EXPECT_EQ(issued.token.name, "ci");
  Admission a = admit_project(issued.secret);
  ASSERT_TRUE(a.principal) << a.error->message;
  EXPECT_EQ(a.principal->kind, Principal::Kind::repository_token);
  EXPECT_EQ(a.principal->repository_token.id, issued.token.id);
  // The same secret as an account token is refused, and says how to send it.
  Admission wrong = service_->admit(Credentials{issued.secret, std::nullopt, "127.0.0.1"});
  ASSERT_TRUE(wrong.error);
  EXPECT_EQ(wrong.error->kind, ErrorKind::unauthorized);
  EXPECT_NE(wrong.error->message.find("project-token"), std::string::npos);
  EXPECT_EQ(wrong.error->message.find(issued.secret), std::string::npos);
}

TEST_F(ServiceTest, DefaultLifetimeFollowsPolicyAndMaximumIsEnforcedExactly) {
  make_world();
  auto policy = ok(service_->set_token_policy(admin_, api_.org, TokenPolicy{30, 60}));
  EXPECT_EQ(policy.max_lifetime_days, 60);
  auto t = ok(service_->create_repository_token(admin_, api_, Req{}));
  EXPECT_EQ(t.token.expires_at, kStart + 30 * 86400);
  EXPECT_TRUE(std::regex_match(t.token.name, std::regex("[A-Za-z0-9-]{1,100}"))) << t.token.name;

  auto at_max = Req{"at-max", format_rfc3339(kStart + 60 * 86400)};
  EXPECT_TRUE(service_->create_repository_token(admin_, api_, at_max).ok());
  auto beyond = service_->create_repository_token(admin_, api_, Req{"beyond", format_rfc3339(kStart + 60 * 86400 + 1)});
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().kind, ErrorKind::invalid);
  EXPECT_NE(beyond.error().message.find("60 days"), std::string::npos);
  auto past = service_->create_repository_token(admin_, api_, Req{"past", format_rfc3339(kStart)});
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.error().message.find("future"), std::string::npos);
  EXPECT_EQ(service_->create_repository_token(admin_, api_, Req{"bad", "next week"}).error().kind,
            ErrorKind::invalid);
}

TEST_F(ServiceTest, PolicyRejectsOutOfRangeLifetimes) {
  make_world();
  for (auto [d, m] : {std::pair{0, 10}, {10, 366}, {20, 10}, {-1, 5}})
    EXPECT_EQ(service_->set_token_policy(admin_, api_.org, TokenPolicy{d, m}).error().kind, ErrorKind::invalid);
  EXPECT_EQ(ok(service_->get_token_policy(admin_, api_.org)).max_lifetime_days, 365);
}

TEST_F(ServiceTest, ExpiryIsExactAndSaidDistinctly) {
  make_world();
  auto t = ok(service_->create_repository_token(admin_, api_, Req{"short", format_rfc3339(kStart + 100)}));
  clock_.set(kStart + 99);
  EXPECT_TRUE(admit_project(t.secret).principal);
  clock_.set(kStart + 100);
  Admission a = admit_project(t.secret);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->kind, ErrorKind::expired);
  EXPECT_NE(a.error->message.find("expired"), std::string::npos);
  // Revoked (deleted) is "unknown or revoked", not "expired".
  auto r = ok(service_->create_repository_token(admin_, api_, Req{"gone", std::nullopt}));
  ASSERT_TRUE(service_->delete_repository_token(admin_, api_, r.token.id).ok());
  Admission revoked = admit_project(r.secret);
  ASSERT_TRUE(revoked.error);
  EXPECT_EQ(revoked.error->kind, ErrorKind::unauthorized);
  EXPECT_NE(revoked.error->message.find("revoked"), std::string::npos);
}

TEST_F(ServiceTest, NamesMustBeValidAndUniqueAmongLiveTokens) {
  make_world();
  for (std::string bad : std::vector<std::string>{"with space", "ünï", std::string(101, 'a'), "", "a_b", "x'; DROP TABLE users;--"})
    EXPECT_EQ(service_->create_repository_token(admin_, api_, Req{bad, std::nullopt}).error().kind,
              ErrorKind::invalid)
        << bad;
  EXPECT_TRUE(service_->create_repository_token(admin_, api_, Req{std::string(100, 'a'), std::nullopt}).ok());
  EXPECT_TRUE(service_->create_repository_token(admin_, api_, Req{"dup", format_rfc3339(kStart + 10)}).ok());
  EXPECT_EQ(service_->create_repository_token(admin_, api_, Req{"dup", std::nullopt}).error().kind,
            ErrorKind::conflict);
  clock_.advance(10);  // the first "dup" has expired: the name is free again
  EXPECT_TRUE(service_->create_repository_token(admin_, api_, Req{"dup", std::nullopt}).ok());
}

TEST_F(ServiceTest, HundredLiveTokensPerRepositoryExpiredOnesDoNotCount) {
  make_world();
  for (int i = 0; i < 100; ++i) {
    auto expires = i < 10 ? std::optional(format_rfc3339(kStart + 50)) : std::nullopt;
    ok(service_->create_repository_token(admin_, api_, Req{"t" + std::to_string(i), expires}));
  }
  auto over = service_->create_repository_token(admin_, api_, Req{"t100", std::nullopt});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::conflict);
  EXPECT_NE(over.error().message.find("100"), std::string::npos);
  clock_.advance(50);  // ten have expired
  for (int i = 100; i < 110; ++i)
    EXPECT_TRUE(service_->create_repository_token(admin_, api_, Req{"t" + std::to_string(i), std::nullopt}).ok());
  EXPECT_EQ(service_->create_repository_token(admin_, api_, Req{"t110", std::nullopt}).error().kind,
            ErrorKind::conflict);
}

TEST_F(ServiceTest, ListingPagesNewestFirstWithoutSecretsAndBulkDelete) {
  make_world();
  std::vector<Id> ids;
  for (int i = 0; i < 25; ++i)
    ids.push_back(ok(service_->create_repository_token(admin_, api_, Req{"n" + std::to_string(i), std::nullopt})).token.id);
  auto page = ok(make_page_request(std::nullopt, std::string("10")));
  std::vector<Id> seen;
  for (int pages = 0;; ++pages) {
    auto list = ok(service_->list_repository_tokens(admin_, api_, page));
    EXPECT_EQ(list.total, 25);
    for (auto& t : list.items) seen.push_back(t.id);
    if (!list.cursor) break;
    page.cursor = list.cursor;
    ASSERT_LT(pages, 5);
  }
  std::vector<Id> expected(ids.rbegin(), ids.rend());
  EXPECT_EQ(seen, expected);
  ASSERT_TRUE(service_->delete_repository_tokens(admin_, api_, {ids[0], ids[1], 999999}).ok());
  EXPECT_EQ(ok(service_->list_repository_tokens(admin_, api_, PageRequest{})).total, 23);
  EXPECT_EQ(service_->delete_repository_token(admin_, api_, ids[0]).error().kind, ErrorKind::not_found);
  EXPECT_EQ(service_->delete_repository_tokens(admin_, api_, {}).error().kind, ErrorKind::invalid);
}

TEST_F(ServiceTest, LastUsedAtIsRecordedInBatches) {
  make_world();
  auto t = ok(service_->create_repository_token(admin_, api_, Req{"used", std::nullopt}));
  EXPECT_FALSE(ok(service_->list_repository_tokens(admin_, api_, PageRequest{})).items[0].last_used_at);
  clock_.advance(5);
  ASSERT_TRUE(admit_project(t.secret).principal);
  service_->flush_last_use();
  auto listed = ok(service_->list_repository_tokens(admin_, api_, PageRequest{})).items[0];
  ASSERT_TRUE(listed.last_used_at);
  EXPECT_EQ(*listed.last_used_at, kStart + 5);
}

TEST_F(ServiceTest, PageRequestsValidateLimit) {
  EXPECT_EQ(ok(make_page_request(std::nullopt, std::nullopt)).limit, 100);
  EXPECT_EQ(ok(make_page_request(std::nullopt, std::string("1000"))).limit, 1000);
  for (std::string bad : std::vector<std::string>{"0", "1001", "-1", "abc", "", "10x", "99999999999999999999"})
    EXPECT_EQ(make_page_request(std::nullopt, bad).error().kind, ErrorKind::invalid) << bad;
}

TEST_F(ServiceTest, TamperedOrForeignCursorsAreInvalid) {
  make_world();
  for (int i = 0; i < 3; ++i) ok(service_->create_repository_token(admin_, api_, Req{"c" + std::to_string(i), std::nullopt}));
  auto list = ok(service_->list_repository_tokens(admin_, api_, PageRequest{std::nullopt, 1}));
  ASSERT_TRUE(list.cursor);
  std::string tampered = *list.cursor;
  tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(service_->list_repository_tokens(admin_, api_, PageRequest{tampered, 1}).error().kind, ErrorKind::invalid);
  // A token cursor handed to the repository listing belongs to another listing.
  EXPECT_EQ(service_->list_repositories(admin_, api_.org, {}, PageRequest{list.cursor, 1}).error().kind,
            ErrorKind::invalid);
}

}  // namespace
}  // namespace rt::testing
