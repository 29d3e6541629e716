// `repotokens provision` against a real repotokensd: every page walked, exactly one working token per
// repository, idempotent re-runs, dry runs, selection, rotation (with and without overlap) and --exec.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include "support/cli_fixture.h"

namespace rt::test {
namespace {

std::map<std::string, std::string> read_tokens(const std::filesystem::path& p) { return parse_token_csv(file_bytes(p)); }

}  // namespace

TEST(CliProvision, EveryPageOneWorkingTokenPerRepositoryAndIdempotent) {
  CliWorld w(250);
  auto listed = w.cli({"repos", "list", "--format", "csv"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 251);  // header + 250 over 3 pages

  auto dry = w.cli({"provision", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(std::count(dry.out.begin(), dry.out.end(), '\n'), 250);
  EXPECT_EQ(w.stored_token_count(), 0);

  auto out = w.server->dir() / "tokens.csv";
  auto run = w.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("created 250"), std::string::npos) << run.err;
  EXPECT_EQ(run.out.find("rtkr_"), std::string::npos);
  EXPECT_EQ(run.err.find("rtkr_"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto tokens = read_tokens(out);
  ASSERT_EQ(tokens.size(), 250u);
  for (const auto& repo : w.repos) {
    ASSERT_EQ(w.family_tokens(repo).size(), 1u) << repo;
    ASSERT_EQ(w.repository_status_with(repo, tokens[repo]), 200) << repo;
  }
  EXPECT_NE(w.repository_status_with("r-0001", tokens["r-0000"]), 200);  // refused for another repository
  EXPECT_EQ(w.stored_token_count(), 250);

  auto again = w.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("created 0"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("skipped 250"), std::string::npos) << again.err;
  EXPECT_EQ(w.stored_token_count(), 250);
  EXPECT_EQ(read_tokens(out), tokens);  // the file still holds every secret
}

TEST(CliProvision, MatchExcludeAndRepositoryFile) {
  CliWorld w(120);
  auto run = w.cli({"provision", "--yes", "--name", "deploy", "--match", "r-00*", "--match", "r-011*", "--exclude", "r-000*",
                    "--output", (w.server->dir() / "a.csv").string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto tokens = parse_token_csv(file_bytes(w.server->dir() / "a.csv"));
  std::set<std::string> expected;
  for (const auto& r : w.repos)
    if ((r.starts_with("r-00") || r.starts_with("r-011")) && !r.starts_with("r-000")) expected.insert(r);
  ASSERT_EQ(tokens.size(), expected.size());
  for (const auto& r : w.repos) EXPECT_EQ(w.family_tokens(r, "deploy").size(), expected.count(r)) << r;

  auto file = w.server->dir() / "some.txt";
  std::ofstream(file) << "# chosen by hand\n\nr-0100\n   r-0101   \n\n# r-0102\nr-0103 # trailing\n";
  auto listed = w.cli({"provision", "--yes", "--name", "listed", "--repos-file", file.string(), "--output",
                       (w.server->dir() / "b.csv").string()});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto b = parse_token_csv(file_bytes(w.server->dir() / "b.csv"));
  EXPECT_EQ(b.size(), 3u);
  EXPECT_TRUE(b.count("r-0100") && b.count("r-0101") && b.count("r-0103"));

  std::ofstream(file) << "r-0100\nno-such-repo\n";
  const auto before = w.stored_token_count();
  auto unknown = w.cli({"provision", "--yes", "--name", "other", "--repos-file", file.string(), "-o",
                        (w.server->dir() / "c.csv").string()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no-such-repo"), std::string::npos) << unknown.err;
  EXPECT_EQ(w.stored_token_count(), before);  // nothing changed
}

TEST(CliProvision, RotateWithAndWithoutOverlap) {
  CliWorld w(30);
  auto out = w.server->dir() / "t.csv";
  ASSERT_EQ(w.cli({"provision", "--yes", "-o", out.string()}).exit_code, 0);
  auto first = parse_token_csv(file_bytes(out));
  ASSERT_EQ(first.size(), 30u);

  auto rotated = w.cli({"provision", "--yes", "--mode", "rotate", "-o", out.string()});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_NE(rotated.err.find("rotated 30 (old tokens revoked: 30)"), std::string::npos) << rotated.err;
  auto second = parse_token_csv(file_bytes(out));
  ASSERT_EQ(second.size(), 30u);
  for (const auto& r : w.repos) {
    EXPECT_NE(first[r], second[r]);
    EXPECT_EQ(w.family_tokens(r).size(), 1u);
    EXPECT_EQ(w.repository_status_with(r, second[r]), 200);
    EXPECT_EQ(w.repository_status_with(r, first[r]), 401) << "old token still works for " << r;
  }

  // --overlap: the old token keeps working until the overlap has passed, then it is revoked.
  auto bg_out = w.server->dir() / "u.csv";
  BackgroundCommand bg(w.cli_args({"provision", "--yes", "--mode", "rotate", "--overlap", "3s", "-o", bg_out.string()}),
                       w.cli_env(), w.server->dir().string());
  bool saw_both = false;
  for (int i = 0; i < 100 && bg.running() && !saw_both; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    saw_both = w.family_tokens("r-0029").size() == 2 && w.repository_status_with("r-0029", second["r-0029"]) == 200;
  }
  EXPECT_TRUE(saw_both) << "no overlap observed";
  ASSERT_EQ(bg.wait(), 0) << bg.err();
  auto third = parse_token_csv(file_bytes(bg_out));
  ASSERT_EQ(third.size(), 30u);
  for (const auto& r : w.repos) {
    EXPECT_EQ(w.family_tokens(r).size(), 1u) << r;
    EXPECT_EQ(w.repository_status_with(r, third[r]), 200);
    EXPECT_EQ(w.repository_status_with(r, second[r]), 401);
  }
}

TEST(CliProvision, ExecReceivesTheTokenOnStdinWithTheRepositoryInItsEnvironment) {
  CliWorld w(12);
  auto dir = w.server->dir() / "delivered";
  std::filesystem::create_directories(dir);
  // The command saves stdin under the repository's name and records its argv and whether the token is in env.
  std::string cmd = "cat > '" + dir.string() + "'/\"$REPOTOKENS_PROVIDER-$REPOTOKENS_ORG-$REPOTOKENS_REPO\"; "
                    "env | grep -c rtkr_ >> '" + dir.string() + "/env-hits' || true";
  auto run = w.cli({"provision", "--yes", "--exec", cmd});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.find("rtkr_"), std::string::npos);  // --exec alone: nothing on stdout
  for (const auto& r : w.repos) {
    std::string secret = file_bytes(dir / ("gh-acme-" + r));
    ASSERT_TRUE(secret.starts_with("rtkr_")) << r;
    secret.pop_back();  // newline
    EXPECT_EQ(w.repository_status_with(r, secret), 200) << r;
  }
  std::string hits = file_bytes(dir / "env-hits");
  EXPECT_EQ(hits.find_first_not_of("0\n"), std::string::npos) << "a token reached the environment: " << hits;

  // A failing command fails the run; the re-run delivers again without creating a second token.
  auto failing = w.cli({"provision", "--yes", "--name", "ci2", "--exec", "cat >/dev/null; exit 7"});
  EXPECT_EQ(failing.exit_code, 1);
  EXPECT_NE(failing.err.find("status 7"), std::string::npos) << failing.err;
  auto retry = w.cli({"provision", "--yes", "--name", "ci2", "--exec", "cat > '" + dir.string() + "'/again-$REPOTOKENS_REPO"});
  ASSERT_EQ(retry.exit_code, 0) << retry.err;
  for (const auto& r : w.repos) {
    EXPECT_EQ(w.family_tokens(r, "ci2").size(), 1u) << r;
    std::string secret = file_bytes(dir / ("again-" + r));
    ASSERT_FALSE(secret.empty()) << r;
    secret.pop_back();
    EXPECT_EQ(w.repository_status_with(r, secret), 200) << r;
  }
}

}  // namespace rt::test
