// Shared Store suite: repository tokens (live-token rules, concurrency), group commit under concurrency,
// durability across reopen, last-use recording and the audit log.
#include <atomic>
#include <set>
#include <thread>

#include "store_test.h"

namespace rt::testing {
namespace {

constexpr UnixTime kNow = 1'800'000'000;

TEST_P(StoreTest, CreatesFindsListsAndRevokesRepositoryTokens) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Repository r = add_repo(o.id, "api");
  Repository other = add_repo(o.id, "web");
  std::vector<Id> ids;
  for (std::uint32_t i = 0; i < 5; ++i)
    ids.push_back(must(add_token(r.id, "t" + std::to_string(i), i, kNow, kNow + 100 + i)).id);
  Id foreign = must(add_token(other.id, "t0", 50, kNow, kNow + 100)).id;

  RepositoryToken found = must(store().find_repository_token(test_hash(3)));
  EXPECT_EQ(found.id, ids[3]);
  EXPECT_EQ(found.repository_id, r.id);
  EXPECT_EQ(found.name, "t3");
  EXPECT_EQ(found.created_at, kNow);
  EXPECT_EQ(found.expires_at, kNow + 103);
  EXPECT_EQ(found.last_used_at, std::nullopt);
  EXPECT_EQ(store().find_repository_token(test_hash(77)).error().kind, ErrorKind::not_found);

  auto p1 = must(store().list_repository_tokens(r.id, std::nullopt, 3));
  ASSERT_EQ(p1.items.size(), 3u);
  EXPECT_EQ(p1.items[0].id, ids[4]);
  EXPECT_EQ(p1.total, 5);
  EXPECT_TRUE(p1.more);
  auto p2 = must(store().list_repository_tokens(r.id, p1.items.back().id, 3));
  ASSERT_EQ(p2.items.size(), 2u);
  EXPECT_EQ(p2.items[1].id, ids[0]);
  EXPECT_FALSE(p2.more);

  // Only the repository's own tokens are deleted, and a revoked token is unknown thereafter.
  std::vector<Id> doomed{ids[1], ids[2], foreign, 999999};
  EXPECT_EQ(must(store().delete_repository_tokens(r.id, doomed, audit_event(o.id, "repository.token.revoke"))), 2);
  EXPECT_EQ(store().find_repository_token(test_hash(1)).error().kind, ErrorKind::not_found);
  EXPECT_TRUE(store().find_repository_token(test_hash(50)).ok());
  EXPECT_EQ(must(store().list_repository_tokens(r.id, std::nullopt, 10)).total, 3);
  std::int64_t audits = audit_count(o.id);
  EXPECT_EQ(must(store().delete_repository_tokens(r.id, doomed, audit_event(o.id, "repository.token.revoke"))), 0);
  EXPECT_EQ(audit_count(o.id), audits);  // nothing deleted, nothing logged

  auto orphan = add_token(424242, "x", 60, kNow, kNow + 1);
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().kind, ErrorKind::not_found);
}

TEST_P(StoreTest, AtMostMaxLiveTokensAndExpiredOnesDoNotCount) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Repository r = add_repo(o.id, "api");
  std::uint32_t n = 0;
  for (int i = 0; i < 30; ++i) must(add_token(r.id, "old" + std::to_string(i), n++, kNow, kNow + 5));
  const UnixTime later = kNow + 5;  // the 30 above have expired (expires_at > now is false)
  std::vector<Id> live;
  for (int i = 0; i < kMaxLiveTokensPerRepository; ++i)
    live.push_back(must(add_token(r.id, "live" + std::to_string(i), n++, later, later + 1000)).id);

  std::int64_t audits = audit_count(o.id);
  NewRepositoryToken extra{.repository_id = r.id, .name = "one-too-many", .hash = test_hash(n++),
                           .created_at = later, .expires_at = later + 1000};
  auto refused = store().create_repository_token(extra, later, kMaxLiveTokensPerRepository,
                                                 audit_event(o.id, "repository.token.create"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::conflict);
  EXPECT_EQ(refused.error().message, "repository already has 100 live tokens, the maximum; revoke one first");
  EXPECT_EQ(audit_count(o.id), audits);
  EXPECT_EQ(store().find_repository_token(extra.hash).error().kind, ErrorKind::not_found);

  // Revoking one frees a place.
  std::vector<Id> one{live[0]};
  EXPECT_EQ(must(store().delete_repository_tokens(r.id, one, audit_event(o.id, "repository.token.revoke"))), 1);
  auto accepted = store().create_repository_token(extra, later, kMaxLiveTokensPerRepository,
                                                  audit_event(o.id, "repository.token.create"));
  ASSERT_TRUE(accepted.ok()) << accepted.error().message;
  EXPECT_EQ(audit_count(o.id), audits + 2);
}

TEST_P(StoreTest, ALiveTokenNameIsUniqueOnItsRepository) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Repository r = add_repo(o.id, "api");
  Repository other = add_repo(o.id, "web");
  const std::string name = "ci \"main\"; ünïcode '%_";
  must(add_token(r.id, name, 1, kNow, kNow + 10));
  auto dup = add_token(r.id, name, 2, kNow + 9, kNow + 100);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, ErrorKind::conflict);
  EXPECT_EQ(dup.error().message, "a live token named " + name + " already exists on this repository");
  EXPECT_TRUE(add_token(other.id, name, 3, kNow, kNow + 100).ok());
  // Once the first has expired, its name is free.
  EXPECT_TRUE(add_token(r.id, name, 4, kNow + 10, kNow + 100).ok());
  EXPECT_EQ(must(store().list_repository_tokens(r.id, std::nullopt, 10)).total, 2);
}

TEST_P(StoreTest, ConcurrentCreationNeverExceedsTheLimit) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Repository r = add_repo(o.id, "api");
  constexpr int kThreads = 16, kEach = 8, kLimit = 40;
  std::atomic<int> created{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto res = add_token(r.id, "t" + std::to_string(t) + "-" + std::to_string(i), t * 100 + i, kNow, kNow + 50,
                             kLimit);
        if (res.ok())
          ++created;
        else if (res.error().kind == ErrorKind::conflict)
          ++refused;
        else
          ++other;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(created.load(), kLimit);
  EXPECT_EQ(refused.load(), kThreads * kEach - kLimit);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(must(store().list_repository_tokens(r.id, std::nullopt, 1000)).total, kLimit);
}

TEST_P(StoreTest, ConcurrentWritesEachGetTheirOwnResultAndFailuresStayIsolated) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  constexpr int kThreads = 32, kEach = 6;
  std::vector<std::vector<Result<User>>> results(kThreads);
  std::vector<Result<User>> shared(kThreads, Result<User>(Error{}));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        results[t].push_back(store().create_user(NewUser{.name = "u" + std::to_string(t) + "." + std::to_string(i)}));
      shared[t] = store().create_user(NewUser{.name = "shared"});  // one wins, the rest conflict
      // A failing repository write in the same batches as others' successful ones.
      (void)store().create_repository(NewRepository{.org_id = o.id, .name = "same"}, audit_event(o.id, "repo"));
    });
  for (auto& th : threads) th.join();

  std::set<Id> ids;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) {
      ASSERT_TRUE(results[t][i].ok()) << results[t][i].error().message;
      EXPECT_EQ(results[t][i]->name, "u" + std::to_string(t) + "." + std::to_string(i));
      EXPECT_EQ(must(store().get_user(results[t][i]->id)).name, results[t][i]->name);
      ids.insert(results[t][i]->id);
    }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kEach));
  int winners = 0;
  for (auto& s : shared) {
    if (s.ok()) {
      ++winners;
    } else {
      EXPECT_EQ(s.error().kind, ErrorKind::conflict);
      EXPECT_EQ(s.error().message, "a user named shared already exists");
    }
  }
  EXPECT_EQ(winners, 1);
  // Exactly one repository "same", with exactly one audit row for it.
  auto repos = must(store().list_repositories(RepositoryQuery{.org_id = o.id}));
  EXPECT_EQ(repos.total, 1);
  auto audit = must(store().list_audit(AuditQuery{.org_id = o.id, .limit = 100}));
  int repo_audits = 0;
  for (auto& e : audit.items) repo_audits += e.action == "repo";
  EXPECT_EQ(repo_audits, 1);
}

// Concurrent creations on many repositories (which PostgreSQL writes in batches, SQLite in group commits)
// mixed with ones that must fail: each failure is its own, with its own message, and every other creation
// lands with its audit row.
TEST_P(StoreTest, ConcurrentCreationsLandWithTheirAuditRowsAndFailuresFailAlone) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  std::vector<Repository> repos;
  for (int i = 0; i < 8; ++i) repos.push_back(add_repo(o.id, "r" + std::to_string(i)));
  Repository full = add_repo(o.id, "full"), named = add_repo(o.id, "named"), gone = add_repo(o.id, "gone");
  auto create = [&](Id repository_id, const std::string& name, std::uint32_t n, int max_live = 100) {
    NewRepositoryToken t{.repository_id = repository_id, .name = name, .hash = test_hash(n), .created_at = kNow,
                         .expires_at = kNow + 3600};
    return store().create_repository_token(t, kNow, max_live, audit_event(o.id, "repository.token.create"));
  };
  for (std::uint32_t i = 0; i < 3; ++i) must(create(full.id, "f" + std::to_string(i), 900000 + i));
  must(create(named.id, "taken", 900010));
  must(store().delete_repository(gone.id, audit_event(o.id, "repository.delete")));
  const std::int64_t audits_before = audit_count(o.id);

  constexpr int kThreads = 24, kEach = 5;
  std::vector<std::vector<Result<RepositoryToken>>> made(kThreads);
  std::vector<std::vector<Result<RepositoryToken>>> failed(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::uint32_t n = static_cast<std::uint32_t>(t * 100 + i);
        made[t].push_back(create(repos[(t + i) % repos.size()].id, "t" + std::to_string(n), n));
        switch ((t + i) % 4) {  // one failing creation after each good one, of each kind in turn
          case 0: failed[t].push_back(create(full.id, "over" + std::to_string(n), 500000 + n, 3)); break;
          case 1: failed[t].push_back(create(named.id, "taken", 500000 + n)); break;
          case 2: failed[t].push_back(create(gone.id, "x" + std::to_string(n), 500000 + n)); break;
          case 3: failed[t].push_back(create(repos[0].id, "dup" + std::to_string(n), 900010)); break;  // a used hash
        }
      }
    });
  for (auto& th : threads) th.join();

  std::set<Id> ids;
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kEach; ++i) {
      const std::uint32_t n = static_cast<std::uint32_t>(t * 100 + i);
      const Result<RepositoryToken>& r = made[t][i];
      ASSERT_TRUE(r.ok()) << r.error().message;
      EXPECT_EQ(r->name, "t" + std::to_string(n));
      RepositoryToken found = must(store().find_repository_token(test_hash(n)));
      EXPECT_EQ(found.id, r->id);
      EXPECT_EQ(found.repository_id, repos[(t + i) % repos.size()].id);
      ids.insert(r->id);
      const Result<RepositoryToken>& f = failed[t][i];
      ASSERT_FALSE(f.ok());
      switch ((t + i) % 4) {
        case 0:
          EXPECT_EQ(f.error().kind, ErrorKind::conflict);
          EXPECT_EQ(f.error().message, "repository already has 3 live tokens, the maximum; revoke one first");
          break;
        case 1:
          EXPECT_EQ(f.error().kind, ErrorKind::conflict);
          EXPECT_EQ(f.error().message, "a live token named taken already exists on this repository");
          break;
        case 2:
          EXPECT_EQ(f.error().kind, ErrorKind::not_found);
          EXPECT_EQ(f.error().message, "no repository with id " + std::to_string(gone.id));
          break;
        case 3:
          EXPECT_EQ(f.error().kind, ErrorKind::conflict);
          EXPECT_EQ(f.error().message, "a token with this hash already exists");
          break;
      }
      if ((t + i) % 4 != 3) {
        EXPECT_EQ(store().find_repository_token(test_hash(500000 + n)).error().kind, ErrorKind::not_found);
      }
    }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kEach));
  // One audit row per token made, none for a refusal.
  EXPECT_EQ(audit_count(o.id), audits_before + kThreads * kEach);
  std::int64_t listed = 0;
  for (const Repository& r : repos) listed += must(store().list_repository_tokens(r.id, std::nullopt, 1000)).total;
  EXPECT_EQ(listed, kThreads * kEach);
  EXPECT_EQ(must(store().list_repository_tokens(full.id, std::nullopt, 1000)).total, 3);
  EXPECT_EQ(must(store().list_repository_tokens(named.id, std::nullopt, 1000)).total, 1);
}

TEST_P(StoreTest, EverythingIsThereAfterReopening) {
  User u = add_user("owner", "o@example.org");
  User m = add_user("member");
  Organization o = add_org("acme", u.id);
  Repository r = add_repo(o.id, "api", Visibility::Public);
  must(store().set_member(o.id, m.id, OrgRole::member, audit_event(o.id, "member.add")));
  must(store().set_permission(r.id, m.id, Permission::write, audit_event(o.id, "permission.set")));
  must(store().create_account_token(u.id, test_hash(1000), kNow, {}));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) must(add_token(r.id, "t" + std::to_string(t * 5 + i), t * 5 + i, kNow, kNow + 99));
    });
  for (auto& th : threads) th.join();

  reopen();
  EXPECT_EQ(must(store().get_user(u.id)).email, "o@example.org");
  EXPECT_EQ(must(store().find_account_token(test_hash(1000))).user.id, u.id);
  EXPECT_EQ(must(store().get_organization(Provider::gh, "acme")).id, o.id);
  EXPECT_EQ(must(store().get_role(o.id, m.id)), OrgRole::member);
  EXPECT_EQ(must(store().get_permission(r.id, m.id)), Permission::write);
  EXPECT_EQ(must(store().get_repository(o.id, "api")).visibility, Visibility::Public);
  EXPECT_EQ(must(store().list_repository_tokens(r.id, std::nullopt, 100)).total, 40);
  for (std::uint32_t i = 0; i < 40; ++i) EXPECT_TRUE(store().find_repository_token(test_hash(i)).ok()) << i;
  EXPECT_EQ(audit_count(o.id), 4);  // organization, repository, member, permission (token events have no org)
}

TEST_P(StoreTest, RecordsLastUseInOneBatchAndNeverBackwards) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Repository r = add_repo(o.id, "api");
  RepositoryToken a = must(add_token(r.id, "a", 1, kNow, kNow + 999));
  RepositoryToken b = must(add_token(r.id, "b", 2, kNow, kNow + 999));
  AccountToken acct = must(store().create_account_token(u.id, test_hash(3, 7), kNow, {}));

  std::vector<LastUse> uses{{TokenKind::repository, a.id, kNow + 10},
                            {TokenKind::repository, b.id, kNow + 20},
                            {TokenKind::account, acct.id, kNow + 30},
                            {TokenKind::repository, 987654, kNow + 40}};  // unknown: ignored
  must(store().record_last_use(uses));
  EXPECT_EQ(must(store().find_repository_token(test_hash(1))).last_used_at, kNow + 10);
  EXPECT_EQ(must(store().find_repository_token(test_hash(2))).last_used_at, kNow + 20);
  EXPECT_EQ(must(store().find_account_token(test_hash(3, 7))).token.last_used_at, kNow + 30);

  std::vector<LastUse> stale{{TokenKind::repository, a.id, kNow + 5}, {TokenKind::repository, b.id, kNow + 25}};
  must(store().record_last_use(stale));
  EXPECT_EQ(must(store().find_repository_token(test_hash(1))).last_used_at, kNow + 10);
  EXPECT_EQ(must(store().find_repository_token(test_hash(2))).last_used_at, kNow + 25);
  EXPECT_TRUE(store().record_last_use({}).ok());
}

TEST_P(StoreTest, FailedTokenCreationLeavesNoAuditRow) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Repository r = add_repo(o.id, "api");
  auto create = [&](const std::string& name, std::uint32_t n, int max_live) {
    NewRepositoryToken t{.repository_id = r.id, .name = name, .hash = test_hash(n), .created_at = kNow,
                         .expires_at = kNow + 10};
    return store().create_repository_token(t, kNow, max_live, audit_event(o.id, "repository.token.create"));
  };
  ASSERT_TRUE(create("one", 1, 2).ok());
  std::int64_t audits = audit_count(o.id);
  EXPECT_EQ(create("one", 2, 2).error().kind, ErrorKind::conflict);   // duplicate live name
  EXPECT_EQ(create("two", 1, 2).error().kind, ErrorKind::conflict);   // same hash
  ASSERT_TRUE(create("two", 3, 2).ok());
  EXPECT_EQ(create("three", 4, 2).error().message, "repository already has 2 live tokens, the maximum; revoke one first");
  EXPECT_EQ(audit_count(o.id), audits + 1);
}

TEST_P(StoreTest, ListsTheAuditLogNewestFirstWithInclusiveBounds) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);  // one event at 1'700'000'000
  Organization other = add_org("other", u.id);
  for (int i = 0; i < 10; ++i) {
    AuditEvent e{.id = 0, .org_id = o.id, .at = 2000 + i * 10, .actor_user_id = u.id,
                 .actor = "user:owner", .action = "act" + std::to_string(i), .target = "gh/acme/api#token:" + std::to_string(i),
                 .details = "details ' ; %"};
    must(store().append_audit(e));
  }
  must(store().append_audit(audit_event(other.id, "elsewhere", 2050)));

  auto all = must(store().list_audit(AuditQuery{.org_id = o.id, .limit = 100}));
  EXPECT_EQ(all.total, 11);
  ASSERT_EQ(all.items.size(), 11u);
  EXPECT_EQ(all.items[0].action, "act9");
  EXPECT_EQ(all.items[0].actor_user_id, u.id);
  EXPECT_EQ(all.items[0].org_id, o.id);
  EXPECT_EQ(all.items[0].at, 2090);
  EXPECT_EQ(all.items[0].target, "gh/acme/api#token:9");
  EXPECT_EQ(all.items[0].details, "details ' ; %");
  EXPECT_EQ(all.items[10].action, "organization.create");

  // from/to are inclusive; total counts every match, not just the page.
  auto window = must(store().list_audit(AuditQuery{.org_id = o.id, .from = 2020, .to = 2060, .limit = 2}));
  EXPECT_EQ(window.total, 5);
  ASSERT_EQ(window.items.size(), 2u);
  EXPECT_EQ(window.items[0].at, 2060);
  EXPECT_EQ(window.items[1].at, 2050);
  EXPECT_TRUE(window.more);
  auto next = must(store().list_audit(
      AuditQuery{.org_id = o.id, .from = 2020, .to = 2060, .before_id = window.items.back().id, .limit = 10}));
  ASSERT_EQ(next.items.size(), 3u);
  EXPECT_EQ(next.items[0].at, 2040);
  EXPECT_EQ(next.items[2].at, 2020);
  EXPECT_FALSE(next.more);
  EXPECT_EQ(next.total, 5);
}

// No id is ever handed out twice (docs/design.md "Ids are never reused"): a retried or stale DELETE of a
// revoked token's id must find nothing, not the next token created.
TEST_P(StoreTest, IdsOfDeletedRowsAreNeverHandedOutAgain) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Repository r = add_repo(o.id, "api");

  RepositoryToken first = must(add_token(r.id, "t", 1, kNow, kNow + 100));
  std::vector<Id> doomed{first.id};
  ASSERT_EQ(must(store().delete_repository_tokens(r.id, doomed, audit_event(o.id, "repository.token.revoke"))), 1);
  RepositoryToken second = must(add_token(r.id, "t", 2, kNow, kNow + 100));
  EXPECT_GT(second.id, first.id);

  AccountToken a1 = must(store().create_account_token(u.id, test_hash(10, 1), kNow, std::nullopt));
  ASSERT_TRUE(store().delete_account_token(u.id, a1.id).ok());
  AccountToken a2 = must(store().create_account_token(u.id, test_hash(11, 1), kNow, std::nullopt));
  EXPECT_GT(a2.id, a1.id);

  Repository again = add_repo(o.id, "web");
  ASSERT_TRUE(store().delete_repository(again.id, audit_event(o.id, "repository.delete")).ok());
  Repository third = add_repo(o.id, "web");
  EXPECT_GT(third.id, again.id);

  // The rule outlives the process: the largest id, deleted, stays used after reopening.
  std::vector<Id> latest{second.id};
  ASSERT_EQ(must(store().delete_repository_tokens(r.id, latest, audit_event(o.id, "repository.token.revoke"))), 1);
  ASSERT_TRUE(store().delete_account_token(u.id, a2.id).ok());
  ASSERT_TRUE(store().delete_repository(third.id, audit_event(o.id, "repository.delete")).ok());
  reopen();
  EXPECT_GT(must(add_token(r.id, "t", 3, kNow, kNow + 100)).id, second.id);
  EXPECT_GT(must(store().create_account_token(u.id, test_hash(12, 1), kNow, std::nullopt)).id, a2.id);
  EXPECT_GT(add_repo(o.id, "web").id, third.id);
}

}  // namespace
}  // namespace rt::testing
