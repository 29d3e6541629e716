// Coverage over the wire with two repotokensd nodes sharing one PostgreSQL database (a throwaway cluster):
// parts of one report uploaded at once through both nodes are all merged, coverageFinal on one node is
// seen by the other, and listCoverageReports on either shows every upload. Skipped, with the reason, when
// the PostgreSQL server binaries are missing.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "support/api_fixture.h"
#include "support/pg_redis.h"

namespace rt::test {
namespace {

using nlohmann::json;

TEST(CoverageOnPostgres, TwoNodesMergeEveryPartAndShareTheFinalReport) {
  RT_REQUIRE_POSTGRES();
  PostgresServer cluster;
  TempDir keys;
  const auto key_file = keys.path() / "secret.key";
  std::ofstream(key_file) << std::string(64, 'a') << "\n";
  ServerOptions options{.db_url = cluster.create_database(), .extra_args = {},
                        .env = {"REPOTOKENS_SECRET_FILE=" + key_file.string()}};
  ServerProcess a(options), b(options);
  HttpClient http_a(a.base_url()), http_b(b.base_url());
  World w = bootstrap_world(a, http_a, "acme", {"api"});
  IssuedToken token = create_repository_token(http_b, w.admin.token, "gh", "acme", "api");

  // 2 nodes x 4 threads x 5 parts, each: line 1 of a shared file, and a file of its own.
  constexpr int kThreadsPerNode = 4, kParts = 5, kUploads = 2 * kThreadsPerNode * kParts;
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsPerNode; ++t) {
    threads.emplace_back([&, t] {
      HttpClient http(t % 2 ? a.base_url() : b.base_url());
      for (int i = 0; i < kParts; ++i) {
        json body = {{"fileReports", {{{"filename", "shared.go"}, {"coverage", {{"1", 1}}}},
                                      {{"filename", "t" + std::to_string(t) + "_" + std::to_string(i) + ".go"},
                                       {"coverage", {{"1", 0}}}}}}};
        auto r = http.request("POST", "/2.0/coverage/abc123/go?partial=true", body.dump(),
                              {project_token(token.secret), "Content-Type: application/json"});
        if (r.status != 200) {
          ++refused;
          ADD_FAILURE() << r.status << ": " << r.body;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(refused.load(), 0);

  auto final = http_a.request("POST", "/2.0/commit/abc123/coverageFinal", "{}",
                              {project_token(token.secret), "Content-Type: application/json"});
  ASSERT_EQ(final.status, 200) << final.body;

  // Every part made it into the one report: the shared line was hit once per upload, and each part's own
  // file is there, uncovered.
  auto summary = http_b.get(repo_path("gh", "acme", "api") + "/commits/abc123/coverage", {api_token(w.admin.token)});
  ASSERT_EQ(summary.status, 200) << summary.body;
  json data = summary.json()["data"];
  EXPECT_EQ(data["status"], "final");
  EXPECT_EQ(data["coverableLines"], kUploads + 1);
  EXPECT_EQ(data["coveredLines"], 1);
  EXPECT_EQ(data["files"].size(), static_cast<size_t>(kUploads + 1));

  auto list = http_b.get(repo_path("gh", "acme", "api") + "/coverage/uploads?limit=1000", {api_token(w.admin.token)});
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json()["data"].size(), static_cast<size_t>(kUploads));
  for (const json& up : list.json()["data"]) {
    EXPECT_EQ(up["status"], "final");
    EXPECT_EQ(up["files"], kUploads + 1);
  }
}

}  // namespace
}  // namespace rt::test
