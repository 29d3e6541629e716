// The CLI's smaller commands against a real repotokensd: tokens create/list/revoke, expiring (exit 1 when
// any), and the admin helpers user add / member set.
#include <gtest/gtest.h>

#include "support/cli_fixture.h"

namespace rt::test {

TEST(CliCommands, TokensExpiringAndRevoke) {
  CliWorld w(3);
  auto made = w.cli({"tokens", "create", "--repo", "r-0001", "--name", "short", "--expires", "1d"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string secret = made.out.substr(0, made.out.find('\n'));
  EXPECT_EQ(w.repository_status_with("r-0001", secret), 200);

  auto listed = w.cli({"tokens", "list", "--repo", "r-0001", "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("\"short\""), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find("rtkr_"), std::string::npos);

  auto soon = w.cli({"expiring", "--within", "2d", "--format", "csv"});
  EXPECT_EQ(soon.exit_code, 1) << soon.err;
  EXPECT_NE(soon.out.find("r-0001"), std::string::npos) << soon.out;
  auto later = w.cli({"expiring", "--within", "1h"});
  EXPECT_EQ(later.exit_code, 0) << later.err << later.out;

  auto revoked = w.cli({"tokens", "revoke", "--repo", "r-0001", "--name", "short"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(w.repository_status_with("r-0001", secret), 401);
  EXPECT_EQ(w.cli({"expiring", "--within", "2d"}).exit_code, 0);
}

TEST(CliCommands, UserAddAndMemberSet) {
  CliWorld w(2);
  auto user = w.cli({"user", "add", "--name", "ci-bot", "--issue-token"});
  ASSERT_EQ(user.exit_code, 0) << user.err;
  std::string token = user.out.substr(0, user.out.find('\n'));
  ASSERT_TRUE(token.starts_with("rtka_")) << user.out;
  auto id_pos = user.err.find("(id ");
  ASSERT_NE(id_pos, std::string::npos) << user.err;
  std::string id = user.err.substr(id_pos + 4, user.err.find(')', id_pos) - id_pos - 4);

  auto as_bot = [&](std::vector<std::string> args) {
    return run_command(w.cli_args(std::move(args)), {}, {"CODACY_API_TOKEN=" + token});
  };
  auto before = as_bot({"provision", "--yes", "--dry-run"});
  EXPECT_EQ(before.exit_code, 1) << before.err;  // not a member: the organization is not visible
  auto set = w.cli({"member", "set", "--user", id, "--role", "admin"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  auto after = as_bot({"provision", "--yes", "--dry-run"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, "create r-0000\ncreate r-0001\n");  // the dry run's plan, per repository
  auto bad = w.cli({"member", "set", "--user", id});
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace rt::test
