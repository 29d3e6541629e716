// `repotokens provision` and `tokens revoke` under the everyday mistakes of issue 15: two runs on one state
// at once, a journal moved away, an output path that names an unrelated file or a missing folder, a token
// id of another repository. Each ends with every repository holding exactly one live token, every secret
// of the output working, and nothing created where the run refused.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/cli_fixture.h"

namespace rt::test {
namespace {

ServerOptions unlimited() {
  ServerOptions options;
  options.extra_args = {"--rate-limit-per-token", "0"};
  return options;
}

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

}  // namespace

TEST(CliSafety, ASecondRunOnTheSameStateRefusesAtOnceNamingTheFirst) {
  CliWorld w(200, unlimited());
  const auto out = w.server->dir() / "tokens.csv";
  // Paced so that the first run is still going when the second starts.
  BackgroundCommand first(w.cli_args({"provision", "--yes", "--output", out.string(), "--rate", "100/s"}), w.cli_env(),
                          w.server->dir().string());
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE(first.running()) << first.err();
  auto second = w.cli({"provision", "--yes", "--output", out.string()});
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("in use by another repotokens run"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("pid "), std::string::npos) << second.err;
  ASSERT_EQ(first.wait(), 0) << first.err();
  w.expect_one_working_token_each(out);
  // Once the first run ended, the state is free again.
  auto again = w.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("created 0"), std::string::npos) << again.err;
}

TEST(CliSafety, ACompletedJournalHoldsNoSecretEvenAfterKills) {
  CliWorld w(300, unlimited());
  const auto out = w.server->dir() / "tokens.csv";
  const auto args = w.cli_args({"provision", "--yes", "--output", out.string(), "--rate", "300/s"});
  for (int delay_ms : {250, 600}) {
    BackgroundCommand cli(args, w.cli_env(), w.server->dir().string());
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    cli.kill9();
  }
  auto finish = w.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  w.expect_one_working_token_each(out);
  // Rotate too: the old tokens' secrets, revoked by this run, must be gone from disk as well.
  const auto before = parse_token_csv(file_bytes(out));
  auto rotate = w.cli({"provision", "--yes", "--mode", "rotate", "--output", out.string()});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  w.expect_one_working_token_each(out);
  std::string state;
  for (const auto& e : std::filesystem::recursive_directory_iterator(w.server->dir() / "state"))
    if (e.is_regular_file()) state += file_bytes(e.path());
  ASSERT_FALSE(state.empty()) << "the journal is kept (with ids and names) after the run";
  const auto after = parse_token_csv(file_bytes(out));
  for (const std::map<std::string, std::string>* secrets : {&before, &after})
    for (const auto& [repo, secret] : *secrets)
      ASSERT_EQ(state.find(secret), std::string::npos) << "the secret of " << repo << " is still in the state folder";
}

TEST(CliSafety, AJournalMovedAwayKeepsEverySecretOfTheOutput) {
  CliWorld w(60, unlimited());
  const auto out = w.server->dir() / "tokens.csv";
  auto part = w.cli({"provision", "--yes", "--match", "r-000*", "--output", out.string()});
  ASSERT_EQ(part.exit_code, 0) << part.err;
  const auto held = parse_token_csv(file_bytes(out));
  ASSERT_EQ(held.size(), 10u);
  std::filesystem::rename(w.server->dir() / "state", w.server->dir() / "state.moved-away");
  auto rest = w.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_NE(rest.err.find("created 50"), std::string::npos) << rest.err;
  w.expect_one_working_token_each(out);
  auto now = parse_token_csv(file_bytes(out));
  for (const auto& [repo, secret] : held) EXPECT_EQ(now[repo], secret) << repo;
}

TEST(CliSafety, AnUnrelatedExistingFileIsRefusedUnlessForced) {
  CliWorld w(5, unlimited());
  const auto notes = w.server->dir() / "notes.txt";
  const std::string text = "shopping list\nmilk\n";
  {
    std::ofstream(notes) << text;
  }
  std::filesystem::permissions(notes, std::filesystem::perms(0644));
  auto run = w.cli({"provision", "--yes", "--output", notes.string()});
  EXPECT_EQ(run.exit_code, 2) << run.err;  // a usage error: the --output given is the mistake
  EXPECT_NE(run.err.find("--force"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(notes.string()), std::string::npos) << run.err;
  EXPECT_EQ(file_bytes(notes), text);
  EXPECT_EQ(mode_of(notes), 0644u);
  EXPECT_EQ(w.stored_token_count(), 0) << "refused before any token was created";

  auto forced = w.cli({"provision", "--yes", "--force", "--output", notes.string()});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  w.expect_one_working_token_each(notes);
  EXPECT_EQ(mode_of(notes), 0600u);
}

TEST(CliSafety, AnOutputInAMissingFolderCreatesNoToken) {
  CliWorld w(5, unlimited());
  const auto out = w.server->dir() / "no-such-folder" / "tokens.csv";
  auto run = w.cli({"provision", "--yes", "--output", out.string()});
  EXPECT_NE(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("no-such-folder"), std::string::npos) << run.err;
  EXPECT_EQ(w.stored_token_count(), 0);
  EXPECT_FALSE(std::filesystem::exists(out.parent_path()));
}

TEST(CliSafety, RevokingAnIdOfAnotherRepositoryOrNoneIsAnErrorThatChangesNothing) {
  CliWorld w(2, unlimited());
  const auto out = w.server->dir() / "tokens.csv";
  ASSERT_EQ(w.cli({"provision", "--yes", "--output", out.string()}).exit_code, 0);
  auto theirs = w.family_tokens("r-0001");
  ASSERT_EQ(theirs.size(), 1u);
  const std::string id = theirs[0]["id"].is_string() ? theirs[0]["id"].get<std::string>()
                                                     : std::to_string(theirs[0]["id"].get<long>());
  auto foreign = w.cli({"tokens", "revoke", "--repo", "r-0000", "--id", id});
  EXPECT_EQ(foreign.exit_code, 1) << foreign.err;
  EXPECT_NE(foreign.err.find(id), std::string::npos) << foreign.err;
  EXPECT_NE(foreign.err.find("nothing was revoked"), std::string::npos) << foreign.err;
  auto unknown = w.cli({"tokens", "revoke", "--repo", "r-0000", "--id", "999999"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.err;
  EXPECT_NE(unknown.err.find("999999"), std::string::npos) << unknown.err;
  w.expect_one_working_token_each(out);  // both repositories keep their one token
}

}  // namespace rt::test
