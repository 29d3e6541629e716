// The provisioning journal: durable records survive reopening, a torn last line is repaired, intents and
// their outcomes, jobs and their resumption, and concurrent appends (group commit) lose nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "cli/journal.h"
#include "support/server_process.h"

namespace rt::cli {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(Journal, CreatedWithPrivateModesAndReloaded) {
  test::TempDir dir;
  const std::string path = (dir.path() / "state" / "gh-acme.journal").string();
  {
    auto j = Journal::open(path);
    ASSERT_TRUE(j.ok()) << j.error().message;
    auto job = (*j)->begin_job("ensure", "ci-coverage");
    ASSERT_TRUE(job.ok());
    ASSERT_TRUE((*j)->intent(job->id, "gh/acme/api", "ci-coverage-aaaaaaaaaaaa").ok());
    ASSERT_TRUE((*j)->created({"gh/acme/api", job->id, 7, "ci-coverage-aaaaaaaaaaaa", "rtkr_secret", 1900000000, 1800000000}).ok());
    ASSERT_TRUE((*j)->intent(job->id, "gh/acme/web", "ci-coverage-bbbbbbbbbbbb").ok());
    ASSERT_TRUE((*j)->complete(job->id, "gh/acme/api").ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir.path() / "state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto j = Journal::open(path);
  ASSERT_TRUE(j.ok());
  auto job = (*j)->unfinished_job("ensure", "ci-coverage");
  ASSERT_TRUE(job);
  EXPECT_FALSE((*j)->unfinished_job("rotate", "ci-coverage"));
  EXPECT_TRUE((*j)->pending_intents("gh/acme/api").empty());  // resolved by "created"
  EXPECT_EQ((*j)->pending_intents("gh/acme/web"), std::vector<std::string>{"ci-coverage-bbbbbbbbbbbb"});
  auto toks = (*j)->tokens("gh/acme/api");
  ASSERT_EQ(toks.size(), 1u);
  EXPECT_EQ(toks[0].id, 7);
  EXPECT_EQ(toks[0].secret, "rtkr_secret");
  EXPECT_EQ(*toks[0].expires_at, 1900000000);
  EXPECT_TRUE((*j)->completed(job->id, "gh/acme/api"));
  EXPECT_FALSE((*j)->completed(job->id, "gh/acme/web"));
  EXPECT_EQ((*j)->repos_needing_attention(), std::set<std::string>{"gh/acme/web"});

  ASSERT_TRUE((*j)->abandoned("gh/acme/web", "ci-coverage-bbbbbbbbbbbb", 9).ok());
  ASSERT_TRUE((*j)->finish_job(job->id).ok());
  EXPECT_TRUE((*j)->repos_needing_attention().empty());
  EXPECT_FALSE((*j)->unfinished_job("ensure", "ci-coverage"));
}

TEST(Journal, TornLastLineIsCutAndTheRestKept) {
  test::TempDir dir;
  const std::string path = (dir.path() / "j").string();
  {
    auto j = Journal::open(path);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->intent("job1", "gh/acme/api", "n-aaaaaaaaaaaa").ok());
  }
  std::ofstream(path, std::ios::app) << R"({"t":"created","repo":"gh/acme/api","tok)";  // kill -9 mid-write
  auto j = Journal::open(path);
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ((*j)->pending_intents("gh/acme/api").size(), 1u);
  ASSERT_TRUE((*j)->revoked("gh/acme/api", 3).ok());
  std::string text = read_all(path);
  EXPECT_EQ(text.find("\"tok\n"), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2);
}

TEST(Journal, DamageInTheMiddleIsReportedNotIgnored) {
  test::TempDir dir;
  const std::string path = (dir.path() / "j").string();
  std::ofstream(path) << "{\"t\":\"job\",\"job\":\"a\"}\ngarbage\n{\"t\":\"done\",\"job\":\"a\"}\n";
  auto j = Journal::open(path);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().message.find("line 2"), std::string::npos);
}

TEST(Journal, RetirementsAndRevocations) {
  test::TempDir dir;
  auto j = Journal::open((dir.path() / "j").string());
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->retire("gh/acme/api", 41, 1234).ok());  // an old token this journal never created
  EXPECT_EQ((*j)->repos_needing_attention(), std::set<std::string>{"gh/acme/api"});
  auto toks = (*j)->tokens("gh/acme/api");
  ASSERT_EQ(toks.size(), 1u);
  EXPECT_EQ(*toks[0].retire_after, 1234);
  EXPECT_TRUE(toks[0].secret.empty());
  ASSERT_TRUE((*j)->revoked("gh/acme/api", 41).ok());
  EXPECT_TRUE((*j)->repos_needing_attention().empty());
}

TEST(Journal, ConcurrentAppendsAreAllDurable) {
  test::TempDir dir;
  const std::string path = (dir.path() / "j").string();
  {
    auto j = Journal::open(path);
    ASSERT_TRUE(j.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i)
          ASSERT_TRUE((*j)->complete("job", "gh/acme/r" + std::to_string(t * 50 + i)).ok());
      });
    for (auto& th : threads) th.join();
  }
  auto j = Journal::open(path);
  ASSERT_TRUE(j.ok());
  for (int r = 0; r < 400; ++r) EXPECT_TRUE((*j)->completed("job", "gh/acme/r" + std::to_string(r))) << r;
}

TEST(Journal, DefaultPathIsPerServerAndOrganization) {
  std::string p = default_state_path("https://app.codacy.com", "gh", "acme");
  EXPECT_NE(p.find("repotokens/app.codacy.com-gh-acme.journal"), std::string::npos) << p;
  EXPECT_NE(default_state_path("http://127.0.0.1:8080", "gh", "acme"), p);
}

}  // namespace rt::cli
