// Keyset pagination against a real server: a walk over 250 repositories while others are added and
// removed (no row that existed throughout is skipped or repeated), limit validation, and cursors that are
// malformed, tampered with, or taken from another listing (all 400, never 500).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/api_fixture.h"

namespace rt::test {
namespace {

std::string name_of(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "r%03d", i);
  return buf;
}

class Pagination : public ::testing::Test {
 protected:
  ServerProcess server;
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {});
  std::string repos() const { return org_path("gh", "acme") + "/repositories"; }
  std::string admin() const { return api_token(w.admin.token); }
};

TEST_F(Pagination, WalkNeitherSkipsNorRepeatsWhileRowsComeAndGo) {
  // 250 repositories; every 17th is "volatile" and gets deleted during the walk, and as many new ones are
  // added (named to sort both before and after the ones already seen).
  std::set<std::string> stable, volatile_names;
  for (int i = 0; i < 250; ++i) {
    add_repository(http, w.admin.token, "gh", "acme", name_of(i));
    (i % 17 == 5 ? volatile_names : stable).insert(name_of(i));
  }
  std::vector<std::string> to_delete(volatile_names.begin(), volatile_names.end());

  std::map<std::string, int> seen;
  std::string cursor;
  int pages = 0, added = 0;
  for (;;) {
    std::string url = repos() + "?limit=100" + (cursor.empty() ? "" : "&cursor=" + url_encode(cursor));
    auto r = http.get(url, {admin()});
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.json();
    ++pages;
    if (pages == 1) {
      EXPECT_EQ(j["pagination"]["total"], 250);
      EXPECT_EQ(j["pagination"]["limit"], 100);
    }
    for (const auto& repo : j["data"]) ++seen[repo.value("name", "")];
    if (!j["pagination"].contains("cursor")) {
      EXPECT_LE(j["data"].size(), 100u);
      break;
    }
    ASSERT_EQ(j["data"].size(), 100u) << "a page with a cursor must be full";
    ASSERT_LT(pages, 10) << "the walk does not end";
    cursor = j["pagination"]["cursor"].get<std::string>();
    // Between pages: remove half the volatile repositories, add as many new ones.
    for (int k = 0; k < static_cast<int>(to_delete.size()) / 2 && !to_delete.empty(); ++k) {
      ASSERT_EQ(http.del(repo_path("gh", "acme", to_delete.back()), {admin()}).status, 204);
      to_delete.pop_back();
      add_repository(http, w.admin.token, "gh", "acme", (added % 2 ? "a-new-" : "z-new-") + std::to_string(added));
      ++added;
    }
  }
  EXPECT_EQ(pages, 3);
  EXPECT_GT(added, 0);
  for (const auto& name : stable) EXPECT_EQ(seen[name], 1) << name << " seen " << seen[name] << " times";
  for (const auto& [name, count] : seen) EXPECT_EQ(count, 1) << name << " repeated";
}

TEST_F(Pagination, SmallLimitsPageTokensNewestFirst) {
  add_repository(http, w.admin.token, "gh", "acme", "api");
  std::vector<std::int64_t> created;
  for (int i = 0; i < 5; ++i)
    created.push_back(create_repository_token(http, w.admin.token, "gh", "acme", "api").id);
  auto all = walk_all(http, repo_path("gh", "acme", "api") + "/tokens?limit=2", w.admin.token);
  ASSERT_EQ(all.size(), 5u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i]["id"], created[created.size() - 1 - i]);

  auto r = http.get(repos() + "?limit=1000", {admin()});
  EXPECT_EQ(r.status, 200) << r.body;
  r = http.get(repos() + "?limit=1", {admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["data"].size(), 1u);
  EXPECT_FALSE(r.json()["pagination"].contains("cursor")) << "one repository, one page";
}

TEST_F(Pagination, LimitOutOfRangeOrNotANumberIs400) {
  for (const char* limit : {"0", "1001", "-1", "abc", "1.5", "", "99999999999999999999"}) {
    EXPECT_TRUE(IsApiError(http.get(repos() + "?limit=" + limit, {admin()}), 400)) << "limit=" << limit;
    EXPECT_TRUE(IsApiError(http.get("/api/v3/user/tokens?limit=" + std::string(limit), {admin()}), 400))
        << "limit=" << limit;
  }
}

TEST_F(Pagination, BadTamperedAndForeignCursorsAre400) {
  for (int i = 0; i < 3; ++i) add_repository(http, w.admin.token, "gh", "acme", name_of(i));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http.post("/api/v3/user/tokens", nlohmann::json::object(), {admin()}).status, 200);
  auto r = http.get(repos() + "?limit=1", {admin()});
  ASSERT_EQ(r.status, 200);
  std::string cursor = r.json()["pagination"].value("cursor", "");
  ASSERT_FALSE(cursor.empty()) << r.body;
  EXPECT_EQ(http.get(repos() + "?limit=1&cursor=" + url_encode(cursor), {admin()}).status, 200);

  for (size_t pos : {size_t{0}, cursor.size() / 2, cursor.size() - 2}) {
    std::string tampered = cursor;
    tampered[pos] = tampered[pos] == 'A' ? 'B' : 'A';
    EXPECT_TRUE(IsApiError(http.get(repos() + "?cursor=" + url_encode(tampered), {admin()}), 400)) << tampered;
  }
  for (std::string bad : {std::string("garbage"), std::string("%%%"), cursor + "x", cursor.substr(1),
                          std::string(5000, 'A'), std::string("eyJpZCI6MX0")}) {
    EXPECT_TRUE(IsApiError(http.get(repos() + "?cursor=" + url_encode(bad), {admin()}), 400)) << bad;
  }

  // A cursor of another listing (account tokens) or of the same listing with another filter is refused.
  r = http.get("/api/v3/user/tokens?limit=1", {admin()});
  ASSERT_EQ(r.status, 200);
  std::string foreign = r.json()["pagination"].value("cursor", "");
  ASSERT_FALSE(foreign.empty()) << r.body;
  EXPECT_TRUE(IsApiError(http.get(repos() + "?cursor=" + url_encode(foreign), {admin()}), 400));
  r = http.get(repos() + "?limit=1&search=r0", {admin()});
  std::string filtered = r.json()["pagination"].value("cursor", "");
  ASSERT_FALSE(filtered.empty()) << r.body;
  EXPECT_TRUE(IsApiError(http.get(repos() + "?cursor=" + url_encode(filtered), {admin()}), 400));
}

}  // namespace
}  // namespace rt::test
