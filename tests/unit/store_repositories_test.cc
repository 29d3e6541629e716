// Shared Store suite: repositories, keyset listing, search, visibility and viewer filtering, permissions.
#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "store_test.h"

namespace rt::testing {
namespace {

std::string repo_name(int i) {
  std::string digits = std::to_string(i);
  return "repo-" + std::string(digits.size() < 3 ? 3 - digits.size() : 0, '0') + digits;
}

std::vector<std::string> names_of(const Page<RepositoryView>& page) {
  std::vector<std::string> out;
  for (const auto& v : page.items) out.push_back(v.repository.name);
  return out;
}

TEST_P(StoreTest, ReadsRepositoriesByIdInOneBatch) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Organization other = add_org("other", u.id);
  Repository a = must(store().create_repository(
      NewRepository{.org_id = o.id, .name = "a", .visibility = Visibility::Public, .languages = {"C++"}},
      audit_event(o.id, "repository.create")));
  Repository b = must(store().create_repository(NewRepository{.org_id = other.id, .name = "b"},
                                                audit_event(other.id, "repository.create")));
  must(store().create_repository(NewRepository{.org_id = o.id, .name = "not-asked"},
                                 audit_event(o.id, "repository.create")));

  const std::vector<Id> ids{b.id, 9999, a.id, a.id};  // a missing id, and one asked twice
  std::vector<Repository> got = must(store().get_repositories_by_id(ids));
  std::sort(got.begin(), got.end(), [](const Repository& x, const Repository& y) { return x.id < y.id; });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, a.id);
  EXPECT_EQ(got[0].name, "a");
  EXPECT_EQ(got[0].owner, "acme");
  EXPECT_EQ(got[0].visibility, Visibility::Public);
  EXPECT_EQ(got[0].languages, std::vector<std::string>{"C++"});
  EXPECT_EQ(got[1].id, b.id);
  EXPECT_EQ(got[1].owner, "other");
  EXPECT_EQ(got[1].name, "b");

  EXPECT_TRUE(must(store().get_repositories_by_id({})).empty());
  const std::vector<Id> missing{9998, 9999};
  EXPECT_TRUE(must(store().get_repositories_by_id(missing)).empty());

  std::vector<Id> full(kMaxRepositoriesById, a.id);
  EXPECT_EQ(must(store().get_repositories_by_id(full)).size(), 1u);
  full.push_back(b.id);
  auto over = store().get_repositories_by_id(full);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::invalid);
  EXPECT_EQ(over.error().message, "at most 1000 repository ids per read, not 1001");
}

TEST_P(StoreTest, CreatesAndReadsRepositories) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  NewRepository repo{.org_id = o.id, .name = "api", .visibility = Visibility::LoginPublic,
                     .remote_identifier = "R_123", .languages = {"C++", "Go \"quoted\"", "Ünïcode\\", ""},
                     .created_at = 42};
  Repository made = must(store().create_repository(repo, audit_event(o.id, "repository.create")));
  EXPECT_EQ(made.owner, "acme");
  EXPECT_EQ(made.provider, Provider::gh);
  for (const Repository& got : {must(store().get_repository(o.id, "api")), must(store().get_repository_by_id(made.id))}) {
    EXPECT_EQ(got.id, made.id);
    EXPECT_EQ(got.org_id, o.id);
    EXPECT_EQ(got.owner, "acme");
    EXPECT_EQ(got.name, "api");
    EXPECT_EQ(got.visibility, Visibility::LoginPublic);
    EXPECT_EQ(got.remote_identifier, "R_123");
    EXPECT_EQ(got.languages, repo.languages);
    EXPECT_EQ(got.created_at, 42);
    EXPECT_EQ(got.updated_at, 42);
  }
  EXPECT_EQ(audit_count(o.id), 2);  // organization + repository

  auto dup = store().create_repository(repo, audit_event(o.id, "repository.create"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind, ErrorKind::conflict);
  EXPECT_EQ(dup.error().message, "repository acme/api already exists");
  EXPECT_EQ(audit_count(o.id), 2);  // a failed mutation leaves no audit row

  Organization other = add_org("other", u.id);
  EXPECT_TRUE(store().create_repository(NewRepository{.org_id = other.id, .name = "api"},
                                        audit_event(other.id, "repository.create")).ok());
  auto orphan = store().create_repository(NewRepository{.org_id = 9999, .name = "x"}, audit_event(9999, "x"));
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.error().kind, ErrorKind::not_found);
  EXPECT_EQ(store().get_repository(o.id, "API").error().kind, ErrorKind::not_found);
  EXPECT_EQ(store().get_repository_by_id(9999).error().kind, ErrorKind::not_found);
}

// pagination.total without a text filter comes from counters the stores keep beside the rows (constant
// cost per page); it must equal what a count would say, through concurrent inserts and deletes, per
// visibility, and after the organization's last repository of a visibility is gone.
TEST_P(StoreTest, RepositoryTotalsStayExactThroughConcurrentInsertsAndDeletes) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Organization other = add_org("other", u.id);
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 40; ++i) {
        NewRepository repo{.org_id = (i % 5 == 0 ? other.id : o.id), .name = "w" + std::to_string(w) + "-" + repo_name(i),
                           .visibility = i % 3 == 0 ? Visibility::Public : Visibility::Private, .created_at = 1};
        auto made = store().create_repository(repo, audit_event(repo.org_id, "repository.create"));
        ASSERT_TRUE(made.ok()) << made.error().message;
        if (i % 4 == 1) {
          ASSERT_TRUE(store().delete_repository(made->id, audit_event(repo.org_id, "repository.delete")).ok());
        }
      }
    });
  for (auto& t : writers) t.join();
  auto total_of = [&](Id org, std::optional<Visibility> visibility) {
    return must(store().list_repositories(RepositoryQuery{.org_id = org, .visibility = visibility, .limit = 1})).total;
  };
  auto counted = [&](Id org, std::optional<Visibility> visibility) {  // every page walked, items counted
    std::int64_t n = 0;
    std::optional<std::string> after;
    for (;;) {
      auto page = must(store().list_repositories(
          RepositoryQuery{.org_id = org, .visibility = visibility, .after_name = after, .limit = 50}));
      n += static_cast<std::int64_t>(page.items.size());
      if (!page.more) return n;
      after = page.items.back().repository.name;
    }
  };
  for (Id org : {o.id, other.id})
    for (auto visibility : {std::optional<Visibility>{}, std::optional<Visibility>{Visibility::Public},
                            std::optional<Visibility>{Visibility::Private}}) {
      EXPECT_EQ(total_of(org, visibility), counted(org, visibility));
      // A text filter matching every name takes the counting path: the two agree.
      EXPECT_EQ(must(store().list_repositories(
                         RepositoryQuery{.org_id = org, .search = "-", .visibility = visibility, .limit = 1}))
                    .total,
                counted(org, visibility));
    }
  EXPECT_EQ(total_of(o.id, std::nullopt), 4 * (32 - 8));  // per writer: 32 in acme, 8 of them deleted
  // Deleting every Public repository of `other` leaves its Public total at 0, not at a stale count.
  auto publics = must(store().list_repositories(
      RepositoryQuery{.org_id = other.id, .visibility = Visibility::Public, .limit = 1000}));
  for (const auto& v : publics.items)
    ASSERT_TRUE(store().delete_repository(v.repository.id, audit_event(other.id, "repository.delete")).ok());
  EXPECT_EQ(total_of(other.id, Visibility::Public), 0);
  EXPECT_EQ(total_of(other.id, std::nullopt), counted(other.id, std::nullopt));
}

TEST_P(StoreTest, KeysetWalkOf250RepositoriesTakesThreePages) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  Organization noise = add_org("noise", u.id);
  std::vector<int> order(250);
  for (int i = 0; i < 250; ++i) order[i] = (i * 97) % 250;  // inserted out of name order
  for (int i : order) add_repo(o.id, repo_name(i));
  add_repo(noise.id, "repo-000a");

  std::vector<std::string> seen;
  std::optional<std::string> after;
  std::vector<size_t> sizes;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = must(store().list_repositories(RepositoryQuery{.org_id = o.id, .after_name = after, .limit = 100}));
    EXPECT_EQ(page.total, 250);
    sizes.push_back(page.items.size());
    for (auto& n : names_of(page)) seen.push_back(n);
    if (!page.more) break;
    after = page.items.back().repository.name;
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{100, 100, 50}));
  ASSERT_EQ(seen.size(), 250u);
  for (int i = 0; i < 250; ++i) EXPECT_EQ(seen[i], repo_name(i));
}

TEST_P(StoreTest, KeysetWalkNeitherSkipsNorRepeatsWhileRowsComeAndGo) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  std::map<std::string, Id> existing;
  for (int i = 0; i < 250; i += 1) existing[repo_name(i * 2)] = add_repo(o.id, repo_name(i * 2)).id;
  // Rows deleted during the walk: some not yet reached. Rows inserted: before and after the position.
  std::set<std::string> throughout;
  for (auto& [name, id] : existing) throughout.insert(name);

  std::map<std::string, int> seen;
  std::optional<std::string> after;
  int page_no = 0;
  for (; page_no < 20; ++page_no) {
    auto page = must(store().list_repositories(RepositoryQuery{.org_id = o.id, .after_name = after, .limit = 100}));
    for (auto& n : names_of(page)) ++seen[n];
    if (!page.more) break;
    after = page.items.back().repository.name;
    // Between pages: insert odd names everywhere (behind and ahead), delete a few rows ahead.
    for (int k = 0; k < 10; ++k) add_repo(o.id, repo_name(page_no * 200 + k * 20 + 1));
    for (int k = 1; k <= 3; ++k) {
      std::string ahead = repo_name(std::min(498, (page_no + 1) * 200 + k * 10));
      if (existing.count(ahead) && throughout.erase(ahead))
        must(store().delete_repository(existing[ahead], audit_event(o.id, "repository.delete")));
    }
  }
  EXPECT_LT(page_no, 20);
  for (const auto& name : throughout) EXPECT_EQ(seen[name], 1) << name;
  for (const auto& [name, count] : seen) EXPECT_EQ(count, 1) << name;
}

TEST_P(StoreTest, LanguagesFilterMatchesAnyListedLanguageExactly) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  auto repo_with = [&](const std::string& name, std::vector<std::string> languages) {
    NewRepository r{.org_id = o.id, .name = name, .visibility = Visibility::Private, .remote_identifier = "",
                    .languages = std::move(languages), .created_at = 1'700'000'000};
    must(store().create_repository(r, audit_event(o.id, "repository.create")));
  };
  repo_with("cpp", {"C++", "CMake"});
  repo_with("c", {"C"});
  repo_with("go", {"Go"});
  repo_with("odd", {"a%\"b"});
  repo_with("none", {});
  auto by = [&](std::vector<std::string> languages) {
    auto page = must(store().list_repositories(RepositoryQuery{.org_id = o.id, .languages = std::move(languages),
                                                               .limit = 50}));
    EXPECT_EQ(page.total, static_cast<std::int64_t>(page.items.size()));
    return names_of(page);
  };
  EXPECT_EQ(by({"C"}), (std::vector<std::string>{"c"}));  // not "C++" or "CMake": whole names only
  EXPECT_EQ(by({"c++"}), (std::vector<std::string>{"cpp"}));
  EXPECT_EQ(by({"Go", "C"}), (std::vector<std::string>{"c", "go"}));
  EXPECT_EQ(by({"a%\"b"}), (std::vector<std::string>{"odd"}));
  EXPECT_TRUE(by({"%"}).empty());
  EXPECT_EQ(by({}).size(), 5u);
}

TEST_P(StoreTest, SearchIsACaseInsensitiveSubstringWithLiteralMetacharacters) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  for (const char* n : {"a%b", "a_b", "axb", "a\\b", "A%B-upper", "it's; DROP TABLE repositories; --", "Ünï"})
    add_repo(o.id, n);
  auto search = [&](const std::string& s) {
    auto page = must(store().list_repositories(RepositoryQuery{.org_id = o.id, .search = s, .limit = 50}));
    EXPECT_EQ(page.total, static_cast<std::int64_t>(page.items.size()));
    return names_of(page);
  };
  EXPECT_EQ(search("%"), (std::vector<std::string>{"A%B-upper", "a%b"}));
  EXPECT_EQ(search("_"), (std::vector<std::string>{"a_b"}));
  EXPECT_EQ(search("\\"), (std::vector<std::string>{"a\\b"}));
  EXPECT_EQ(search("a%B"), (std::vector<std::string>{"A%B-upper", "a%b"}));
  EXPECT_EQ(search("X"), (std::vector<std::string>{"axb"}));
  EXPECT_EQ(search("'S; drop"), (std::vector<std::string>{"it's; DROP TABLE repositories; --"}));
  EXPECT_EQ(search("Ünï"), (std::vector<std::string>{"Ünï"}));
  EXPECT_TRUE(search("nothing-like-this").empty());
  EXPECT_EQ(search("").size(), 7u);
  // Search and keyset position combine.
  auto after = must(store().list_repositories(
      RepositoryQuery{.org_id = o.id, .search = "%", .after_name = "A%B-upper", .limit = 1}));
  EXPECT_EQ(names_of(after), (std::vector<std::string>{"a%b"}));
  EXPECT_EQ(after.total, 2);
  EXPECT_FALSE(after.more);
}

TEST_P(StoreTest, FiltersByVisibility) {
  User u = add_user("owner");
  Organization o = add_org("acme", u.id);
  add_repo(o.id, "pub", Visibility::Public);
  add_repo(o.id, "priv", Visibility::Private);
  add_repo(o.id, "login", Visibility::LoginPublic);
  auto only = [&](Visibility v) {
    return names_of(must(store().list_repositories(RepositoryQuery{.org_id = o.id, .visibility = v})));
  };
  EXPECT_EQ(only(Visibility::Public), (std::vector<std::string>{"pub"}));
  EXPECT_EQ(only(Visibility::Private), (std::vector<std::string>{"priv"}));
  EXPECT_EQ(only(Visibility::LoginPublic), (std::vector<std::string>{"login"}));
}

TEST_P(StoreTest, ViewerSeesGrantedAndNonPrivateRepositoriesWithTheirGrant) {
  User owner = add_user("owner");
  User viewer = add_user("viewer");
  User other = add_user("other");
  Organization o = add_org("acme", owner.id);
  Repository granted = add_repo(o.id, "b-granted", Visibility::Private);
  add_repo(o.id, "c-hidden", Visibility::Private);
  Repository pub = add_repo(o.id, "a-public", Visibility::Public);
  Repository login = add_repo(o.id, "d-login", Visibility::LoginPublic);
  Repository others = add_repo(o.id, "e-others", Visibility::Private);
  must(store().set_permission(granted.id, viewer.id, Permission::write, audit_event(o.id, "permission.set")));
  must(store().set_permission(login.id, viewer.id, Permission::admin, audit_event(o.id, "permission.set")));
  must(store().set_permission(others.id, other.id, Permission::admin, audit_event(o.id, "permission.set")));
  must(store().set_permission(pub.id, other.id, Permission::read, audit_event(o.id, "permission.set")));

  auto mine = must(store().list_repositories(RepositoryQuery{.org_id = o.id, .viewer = viewer.id}));
  EXPECT_EQ(names_of(mine), (std::vector<std::string>{"a-public", "b-granted", "d-login"}));
  EXPECT_EQ(mine.total, 3);
  EXPECT_EQ(mine.items[0].permission, std::nullopt);
  EXPECT_EQ(mine.items[1].permission, Permission::write);
  EXPECT_EQ(mine.items[2].permission, Permission::admin);

  auto all = must(store().list_repositories(RepositoryQuery{.org_id = o.id}));
  EXPECT_EQ(all.total, 5);
  for (const auto& v : all.items) EXPECT_EQ(v.permission, std::nullopt);

  auto paged = must(store().list_repositories(
      RepositoryQuery{.org_id = o.id, .viewer = viewer.id, .after_name = "a-public", .limit = 1}));
  EXPECT_EQ(names_of(paged), (std::vector<std::string>{"b-granted"}));
  EXPECT_TRUE(paged.more);
  EXPECT_EQ(paged.total, 3);
}

TEST_P(StoreTest, GrantsAndChangesRepositoryPermissions) {
  User owner = add_user("owner");
  User m = add_user("m");
  Organization o = add_org("acme", owner.id);
  Repository r = add_repo(o.id, "api");
  EXPECT_EQ(must(store().get_permission(r.id, m.id)), std::nullopt);
  must(store().set_permission(r.id, m.id, Permission::read, audit_event(o.id, "permission.set")));
  EXPECT_EQ(must(store().get_permission(r.id, m.id)), Permission::read);
  must(store().set_permission(r.id, m.id, Permission::admin, audit_event(o.id, "permission.set")));
  EXPECT_EQ(must(store().get_permission(r.id, m.id)), Permission::admin);
  std::int64_t before = audit_count(o.id);

  auto ghost = store().set_permission(r.id, 4444, Permission::read, audit_event(o.id, "permission.set"));
  ASSERT_FALSE(ghost.ok());
  EXPECT_EQ(ghost.error().kind, ErrorKind::not_found);
  EXPECT_EQ(ghost.error().message, "no user with id 4444");
  EXPECT_EQ(store().set_permission(r.id + 100, m.id, Permission::read, audit_event(o.id, "x")).error().kind,
            ErrorKind::not_found);
  EXPECT_EQ(audit_count(o.id), before);
}

TEST_P(StoreTest, DeletingARepositoryTakesItsTokensAndPermissions) {
  User owner = add_user("owner");
  User m = add_user("m");
  Organization o = add_org("acme", owner.id);
  Repository r = add_repo(o.id, "api");
  Repository keep = add_repo(o.id, "web");
  must(store().set_permission(r.id, m.id, Permission::write, audit_event(o.id, "permission.set")));
  must(add_token(r.id, "ci", 1, 100, 1000));
  must(add_token(keep.id, "ci", 2, 100, 1000));

  must(store().delete_repository(r.id, audit_event(o.id, "repository.delete")));
  EXPECT_EQ(store().get_repository_by_id(r.id).error().kind, ErrorKind::not_found);
  EXPECT_EQ(store().find_repository_token(test_hash(1)).error().kind, ErrorKind::not_found);
  EXPECT_EQ(must(store().get_permission(r.id, m.id)), std::nullopt);
  EXPECT_TRUE(store().find_repository_token(test_hash(2)).ok());
  auto audit = must(store().list_audit(AuditQuery{.org_id = o.id, .limit = 1}));
  EXPECT_EQ(audit.items[0].action, "repository.delete");
  EXPECT_EQ(store().delete_repository(r.id, audit_event(o.id, "repository.delete")).error().kind,
            ErrorKind::not_found);
  EXPECT_EQ(audit_count(o.id), audit.total);
  // The name is free again.
  EXPECT_TRUE(store().create_repository(NewRepository{.org_id = o.id, .name = "api"}, audit_event(o.id, "x")).ok());
}

}  // namespace
}  // namespace rt::testing
