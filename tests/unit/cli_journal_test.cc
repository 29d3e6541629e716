// The provisioning journal: durable records survive reopening, a torn last line is ignored and cut, damage
// in the middle is reported, intents and their outcomes, compaction that drops delivered and revoked
// secrets (a completed journal holds none), concurrent appends (group commit) lose nothing; and the lock
// that keeps a second run off a job.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "cli/file_lock.h"
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

const RepoKey kApi{"gh", "acme", "api"}, kWeb{"gh", "acme", "web"};

JournaledToken token(const RepoKey& repo, const std::string& job, std::int64_t id, const std::string& secret) {
  return {repo, job, id, "ci-coverage-aaaaaaaaaaaa", secret, 1900000000, 1800000000, true};
}

}  // namespace

TEST(Journal, NothingIsCreatedUntilTheFirstAppend) {
  test::TempDir dir;
  const std::string path = (dir.path() / "state" / "gh-acme.journal").string();
  auto j = Journal::open(path);
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state"));
  ASSERT_TRUE((*j)->compact().ok());
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Journal, CreatedWithPrivateModesAndReloaded) {
  test::TempDir dir;
  const std::string path = (dir.path() / "state" / "gh-acme.journal").string();
  {
    auto j = Journal::open(path);
    ASSERT_TRUE(j.ok()) << j.error().message;
    auto job = (*j)->begin_job("ensure", "ci-coverage");
    ASSERT_TRUE(job.ok());
    ASSERT_TRUE((*j)->intent(job->id, kApi, "ci-coverage-aaaaaaaaaaaa", {3, 4}, 1800000000).ok());
    ASSERT_TRUE((*j)->created(token(kApi, job->id, 7, "rtkr_secret")).ok());
    ASSERT_TRUE((*j)->intent(job->id, kWeb, "ci-coverage-bbbbbbbbbbbb", {5}, 1800000001).ok());
    ASSERT_TRUE((*j)->complete(job->id, kApi).ok());
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
  EXPECT_TRUE((*j)->pending_intents(kApi).empty());  // resolved by "created"
  auto pending = (*j)->pending_intents(kWeb);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].name, "ci-coverage-bbbbbbbbbbbb");
  EXPECT_EQ(pending[0].before, std::vector<std::int64_t>{5});
  auto toks = (*j)->tokens(kApi);
  ASSERT_EQ(toks.size(), 1u);
  EXPECT_EQ(toks[0].id, 7);
  EXPECT_EQ(toks[0].secret, "rtkr_secret");
  EXPECT_EQ(*toks[0].expires_at, 1900000000);
  EXPECT_TRUE((*j)->completed(job->id, kApi));
  EXPECT_FALSE((*j)->completed(job->id, kWeb));
  EXPECT_EQ((*j)->repos_needing_attention(), (std::set<RepoKey>{kApi, kWeb}));  // a secret held, an intent

  ASSERT_TRUE((*j)->abandoned(kWeb, "ci-coverage-bbbbbbbbbbbb", 9).ok());
  ASSERT_TRUE((*j)->delivered({{kApi, 7}}).ok());
  ASSERT_TRUE((*j)->finish_job(job->id).ok());
  EXPECT_TRUE((*j)->repos_needing_attention().empty());
  EXPECT_FALSE((*j)->unfinished_job("ensure", "ci-coverage"));
}

TEST(Journal, DeliveredSecretsLeaveTheFileAtCompactionAndIdsStay) {
  test::TempDir dir;
  const std::string path = (dir.path() / "j").string();
  auto j = Journal::open(path);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->created(token(kApi, "job1", 7, "secret-of-api-7")).ok());
  ASSERT_TRUE((*j)->created(token(kWeb, "job1", 8, "secret-of-web-8")).ok());
  ASSERT_TRUE((*j)->delivered({{kApi, 7}}).ok());
  EXPECT_NE(read_all(path).find("secret-of-api-7"), std::string::npos);  // appended, not yet compacted
  ASSERT_TRUE((*j)->compact().ok());
  std::string text = read_all(path);
  EXPECT_EQ(text.find("secret-of-api-7"), std::string::npos) << text;
  EXPECT_NE(text.find("secret-of-web-8"), std::string::npos);  // still in flight
  EXPECT_TRUE((*j)->holds_secrets());
  ASSERT_TRUE((*j)->delivered({{kWeb, 8}}).ok());
  ASSERT_TRUE((*j)->compact().ok());
  EXPECT_FALSE((*j)->holds_secrets());
  EXPECT_EQ(read_all(path).find("secret-of"), std::string::npos);
  ASSERT_TRUE((*j)->complete("job1", kApi).ok());  // appends keep working after the file was replaced

  auto again = Journal::open(path);
  ASSERT_TRUE(again.ok()) << again.error().message;
  auto toks = (*again)->tokens(kApi);
  ASSERT_EQ(toks.size(), 1u);
  EXPECT_EQ(toks[0].id, 7);  // the id stays: that is how a server without names is matched
  EXPECT_TRUE(toks[0].delivered);
  EXPECT_TRUE(toks[0].secret.empty());
  EXPECT_TRUE((*again)->completed("job1", kApi));
}

TEST(Journal, ARevokedTokensSecretIsErasedAtOnce) {
  test::TempDir dir;
  const std::string path = (dir.path() / "j").string();
  auto j = Journal::open(path);
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->created(token(kApi, "job1", 7, "secret-of-api-7")).ok());
  ASSERT_TRUE((*j)->revoked(kApi, 7).ok());
  EXPECT_EQ(read_all(path).find("secret-of-api-7"), std::string::npos);
  EXPECT_FALSE((*j)->holds_secrets());
}

TEST(Journal, TornLastLineIsIgnoredAndCutBeforeTheNextAppend) {
  test::TempDir dir;
  const std::string path = (dir.path() / "j").string();
  {
    auto j = Journal::open(path);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->intent("job1", kApi, "n-aaaaaaaaaaaa", {}, 1).ok());
  }
  std::ofstream(path, std::ios::app) << R"({"t":"created","p":"gh","o":"acme","r":"api","tok)";  // kill -9 mid-write
  auto j = Journal::open(path);
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_EQ((*j)->pending_intents(kApi).size(), 1u);
  ASSERT_TRUE((*j)->revoked(kApi, 3).ok());
  std::string text = read_all(path);
  EXPECT_EQ(text.find("\"tok\n"), std::string::npos);
  EXPECT_EQ(text.find("\"tok{"), std::string::npos);
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

TEST(Journal, ReadsTheRecordsOfEarlierVersions) {
  test::TempDir dir;
  const std::string path = (dir.path() / "j").string();
  std::ofstream(path) << R"({"t":"created","job":"a","repo":"gh/acme/api","token":"n","id":4,"secret":"s","at":1})" "\n";
  auto j = Journal::open(path);
  ASSERT_TRUE(j.ok());
  ASSERT_EQ((*j)->tokens(kApi).size(), 1u);
  EXPECT_EQ((*j)->tokens(kApi)[0].id, 4);
}

TEST(Journal, RetirementsAndRevocations) {
  test::TempDir dir;
  auto j = Journal::open((dir.path() / "j").string());
  ASSERT_TRUE(j.ok());
  ASSERT_TRUE((*j)->retire(kApi, 41, 1234).ok());  // an old token this journal never created
  EXPECT_EQ((*j)->repos_needing_attention(), std::set<RepoKey>{kApi});
  auto toks = (*j)->tokens(kApi);
  ASSERT_EQ(toks.size(), 1u);
  EXPECT_EQ(*toks[0].retire_after, 1234);
  EXPECT_TRUE(toks[0].secret.empty());
  ASSERT_TRUE((*j)->revoked(kApi, 41).ok());
  EXPECT_TRUE((*j)->repos_needing_attention().empty());
}

TEST(Journal, ConcurrentAppendsAreAllDurableEvenAcrossCompactions) {
  test::TempDir dir;
  const std::string path = (dir.path() / "j").string();
  std::string job;
  {
    auto j = Journal::open(path);
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE((*j)->begin_job("ensure", "x").ok());  // compaction keeps the completions of the last job
    job = (*j)->unfinished_job("ensure", "x")->id;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          ASSERT_TRUE((*j)->complete(job, {"gh", "acme", "r" + std::to_string(t * 50 + i)}).ok());
          if (i % 10 == 0) ASSERT_TRUE((*j)->compact().ok());
        }
      });
    for (auto& th : threads) th.join();
  }
  auto j = Journal::open(path);
  ASSERT_TRUE(j.ok());
  for (int r = 0; r < 400; ++r) EXPECT_TRUE((*j)->completed(job, {"gh", "acme", "r" + std::to_string(r)})) << r;
}

TEST(Journal, DefaultPathIsPerServerAndOrganization) {
  std::string p = default_state_path("https://app.codacy.com", "gh", "acme");
  EXPECT_NE(p.find("repotokens/app.codacy.com-gh-acme.journal"), std::string::npos) << p;
  EXPECT_NE(default_state_path("http://127.0.0.1:8080", "gh", "acme"), p);
}

TEST(FileLock, ASecondHolderIsRefusedWithTheFirstOnesIdentity) {
  test::TempDir dir;
  const std::string path = (dir.path() / "j.lock").string();
  auto first = FileLock::acquire(path, "the journal j");
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = FileLock::acquire(path, "the journal j");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::conflict);
  EXPECT_NE(second.error().message.find("the journal j is in use"), std::string::npos) << second.error().message;
  EXPECT_NE(second.error().message.find("pid " + std::to_string(::getpid())), std::string::npos);
  EXPECT_NE(second.error().message.find("started 20"), std::string::npos);
  first->reset();
  EXPECT_FALSE(std::filesystem::exists(path));  // a clean release removes the file
  auto third = FileLock::acquire(path, "the journal j");
  EXPECT_TRUE(third.ok());
}

TEST(FileLock, TheLockOfADeadProcessIsTakenOver) {
  test::TempDir dir;
  const std::string path = (dir.path() / "j.lock").string();
  pid_t child = ::fork();
  if (child == 0) {
    auto lock = FileLock::acquire(path, "x");
    ::_exit(lock.ok() ? 0 : 1);  // dies holding it: no destructor runs, the file stays
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(std::filesystem::exists(path));
  std::string taken_over;
  auto lock = FileLock::acquire(path, "x", &taken_over);
  ASSERT_TRUE(lock.ok()) << lock.error().message;
  EXPECT_NE(taken_over.find("pid " + std::to_string(child)), std::string::npos) << taken_over;
}

TEST(FileLock, AMissingFolderIsAnError) {
  test::TempDir dir;
  auto lock = FileLock::acquire((dir.path() / "no" / "j.lock").string(), "x");
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.error().message.find("No such file"), std::string::npos) << lock.error().message;
}

}  // namespace rt::cli
