// The CLI on a real (pseudo-)terminal: no secret reaches the terminal without --show-secrets, the progress
// bar is drawn, and the confirmation question is asked and honoured.
#include <gtest/gtest.h>

#include "support/cli_fixture.h"

namespace rt::test {

TEST(CliTerminal, NoSecretOnTheTerminalWithoutShowSecrets) {
  CliWorld w(15);
  auto refused = run_on_terminal(w.cli_args({"provision", "--yes"}), w.cli_env());
  EXPECT_EQ(refused.exit_code, 2) << refused.out;
  EXPECT_NE(refused.out.find("--show-secrets"), std::string::npos) << refused.out;
  EXPECT_EQ(refused.out.find("rtkr_"), std::string::npos);
  EXPECT_EQ(w.stored_token_count(), 0);

  auto out = w.server->dir() / "t.csv";
  auto to_file = run_on_terminal(w.cli_args({"provision", "--yes", "-o", out.string()}), w.cli_env());
  EXPECT_EQ(to_file.exit_code, 0) << to_file.out;
  EXPECT_EQ(to_file.out.find("rtkr_"), std::string::npos) << to_file.out;
  EXPECT_NE(to_file.out.find("[##############################]"), std::string::npos) << to_file.out;  // the bar
  EXPECT_EQ(parse_token_csv(file_bytes(out)).size(), 15u);

  auto create = run_on_terminal(w.cli_args({"tokens", "create", "--repo", "r-0000"}), w.cli_env());
  EXPECT_EQ(create.exit_code, 2);
  EXPECT_EQ(create.out.find("rtkr_"), std::string::npos);

  // The check can fail: with --show-secrets the secret does appear.
  auto shown = run_on_terminal(w.cli_args({"tokens", "create", "--repo", "r-0000", "--show-secrets"}), w.cli_env());
  EXPECT_EQ(shown.exit_code, 0) << shown.out;
  EXPECT_NE(shown.out.find("rtkr_"), std::string::npos);
  auto listed = run_on_terminal(w.cli_args({"tokens", "list", "--repo", "r-0000"}), w.cli_env());
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_EQ(listed.out.find("rtkr_"), std::string::npos) << listed.out;
}

TEST(CliTerminal, ConfirmationQuestionIsAskedAndHonoured) {
  CliWorld w(5);
  auto out = w.server->dir() / "t.csv";
  auto no = run_on_terminal(w.cli_args({"provision", "-o", out.string()}), w.cli_env(), "n\n");
  EXPECT_NE(no.out.find("Create 5 repository tokens in gh/acme (leave 0 alone)? [y/N]"), std::string::npos) << no.out;
  EXPECT_EQ(no.exit_code, 3);  // cancelled
  EXPECT_EQ(w.stored_token_count(), 0);
  auto yes = run_on_terminal(w.cli_args({"provision", "-o", out.string()}), w.cli_env(), "y\n");
  EXPECT_EQ(yes.exit_code, 0) << yes.out;
  EXPECT_EQ(w.stored_token_count(), 5);
}

}  // namespace rt::test
