// Shared Store suite: users and account tokens.
#include "store_test.h"

namespace rt::testing {
namespace {

TEST_P(StoreTest, CreatesAndReadsUsersWithAnyText) {
  User a = add_user("Zoë 'O\"Brien'; DROP TABLE users; --", "zoe@example.org");
  User b = add_user("bob");
  EXPECT_NE(a.id, b.id);
  User got = must(store().get_user(a.id));
  EXPECT_EQ(got.name, "Zoë 'O\"Brien'; DROP TABLE users; --");
  EXPECT_EQ(got.email, "zoe@example.org");
  EXPECT_FALSE(got.is_admin);
  EXPECT_EQ(got.created_at, 1'700'000'000);
  EXPECT_EQ(must(store().get_user(b.id)).email, std::nullopt);

  User admin = must(store().create_user(NewUser{.name = "root", .email = {}, .is_admin = true, .created_at = 5}));
  EXPECT_TRUE(must(store().get_user(admin.id)).is_admin);
}

TEST_P(StoreTest, DuplicateUserNameIsAConflictNamingIt) {
  add_user("alice");
  auto again = store().create_user(NewUser{.name = "alice"});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  EXPECT_EQ(again.error().message, "a user named alice already exists");
  // Names compare exactly.
  EXPECT_TRUE(store().create_user(NewUser{.name = "Alice"}).ok());
}

TEST_P(StoreTest, FindsUsersByEmailWithoutAsciiCase) {
  User ada = add_user("ada", "Ada@Example.org");
  User twin = add_user("ada2", "ada@example.ORG");
  add_user("bob", "bob@example.org");
  add_user("nobody");
  auto found = must(store().find_users_by_email("ada@example.org"));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].id, ada.id);
  EXPECT_EQ(found[1].id, twin.id);
  EXPECT_TRUE(must(store().find_users_by_email("carol@example.org")).empty());
  EXPECT_TRUE(must(store().find_users_by_email("%@example.org")).empty()) << "compared exactly, not as a pattern";
}

TEST_P(StoreTest, UnknownUserIsNotFound) {
  auto r = store().get_user(4242);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::not_found);
  EXPECT_EQ(r.error().message, "no user with id 4242");
}

TEST_P(StoreTest, AccountTokenIsFoundByItsHashWithItsOwner) {
  User u = add_user("carol", "carol@example.org");
  AccountToken t = must(store().create_account_token(u.id, test_hash(1), 100, 200));
  EXPECT_EQ(t.user_id, u.id);
  EXPECT_EQ(t.expires_at, 200);

  AccountTokenOwner found = must(store().find_account_token(test_hash(1)));
  EXPECT_EQ(found.token.id, t.id);
  EXPECT_EQ(found.token.created_at, 100);
  EXPECT_EQ(found.token.expires_at, 200);
  EXPECT_EQ(found.token.last_used_at, std::nullopt);
  EXPECT_EQ(found.user.name, "carol");
  EXPECT_EQ(found.user.email, "carol@example.org");

  auto unknown = store().find_account_token(test_hash(2));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::not_found);

  auto orphan = store().create_account_token(999, test_hash(3), 100, std::nullopt);
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().kind, ErrorKind::not_found);
  EXPECT_EQ(orphan.error().message, "no user with id 999");

  auto same_hash = store().create_account_token(u.id, test_hash(1), 100, std::nullopt);
  ASSERT_FALSE(same_hash.ok());
  EXPECT_EQ(same_hash.error().kind, ErrorKind::conflict);
}

TEST_P(StoreTest, ListsAccountTokensNewestFirstByKeyset) {
  User u = add_user("dave");
  User other = add_user("erin");
  std::vector<Id> ids;
  for (std::uint32_t i = 0; i < 5; ++i) ids.push_back(must(store().create_account_token(u.id, test_hash(i), i, {})).id);
  must(store().create_account_token(other.id, test_hash(99), 1, {}));

  auto p1 = must(store().list_account_tokens(u.id, std::nullopt, 2));
  ASSERT_EQ(p1.items.size(), 2u);
  EXPECT_EQ(p1.items[0].id, ids[4]);
  EXPECT_EQ(p1.items[1].id, ids[3]);
  EXPECT_TRUE(p1.more);
  EXPECT_EQ(p1.total, 5);
  auto p2 = must(store().list_account_tokens(u.id, p1.items.back().id, 2));
  ASSERT_EQ(p2.items.size(), 2u);
  EXPECT_EQ(p2.items[0].id, ids[2]);
  EXPECT_TRUE(p2.more);
  auto p3 = must(store().list_account_tokens(u.id, p2.items.back().id, 2));
  ASSERT_EQ(p3.items.size(), 1u);
  EXPECT_EQ(p3.items[0].id, ids[0]);
  EXPECT_FALSE(p3.more);
  EXPECT_EQ(p3.total, 5);
}

TEST_P(StoreTest, DeletingAnAccountTokenMakesItUnknown) {
  User u = add_user("frank");
  User v = add_user("grace");
  AccountToken t = must(store().create_account_token(u.id, test_hash(7), 1, {}));

  auto not_owner = store().delete_account_token(v.id, t.id);
  ASSERT_FALSE(not_owner.ok());
  EXPECT_EQ(not_owner.error().kind, ErrorKind::not_found);
  EXPECT_TRUE(store().find_account_token(test_hash(7)).ok());

  EXPECT_TRUE(store().delete_account_token(u.id, t.id).ok());
  EXPECT_EQ(store().find_account_token(test_hash(7)).error().kind, ErrorKind::not_found);
  EXPECT_EQ(store().delete_account_token(u.id, t.id).error().kind, ErrorKind::not_found);
}

TEST_P(StoreTest, ListingRefusesANonPositiveLimit) {
  User u = add_user("henry");
  auto r = store().list_account_tokens(u.id, std::nullopt, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_EQ(store().list_repositories(RepositoryQuery{.org_id = 1, .limit = -1}).error().kind, ErrorKind::invalid);
}

}  // namespace
}  // namespace rt::testing
