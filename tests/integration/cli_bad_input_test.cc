// Bad input to the CLI: usage errors exit 2 naming the option and change nothing; a wrong, expired or
// unusable credential gives one clear line and exit 4, an unreachable server one line and exit 1.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "support/cli_fixture.h"

namespace rt::test {
namespace {

void expect_one_line(const CommandResult& r) {
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.find('{'), std::string::npos) << "a JSON dump: " << r.err;
}

}  // namespace

TEST(CliBadInput, UsageErrorsNameTheOptionAndChangeNothing) {
  CliWorld w(3);
  struct Case {
    std::vector<std::string> args;
    std::string names;
  };
  const std::vector<Case> cases = {
      {{"provision", "--yes", "--bogus"}, "--bogus"},
      {{"provision", "--yes", "--expires", "90x"}, "--expires"},
      {{"provision", "--yes", "--expires", "2001-01-01"}, "--expires"},
      {{"provision", "--yes", "--expires", "2027-02-30"}, "--expires"},
      {{"provision", "--yes", "--mode", "sometimes"}, "--mode"},
      {{"provision", "--yes", "--rate", "fast"}, "--rate"},
      {{"provision", "--yes", "--overlap", "1h"}, "--overlap"},
      {{"provision", "--yes", "--name", "bad name"}, "--name"},
      {{"provision", "--yes", "--format", "xml"}, "--format"},
      {{"provision", "--yes", "--concurrency", "0"}, "--concurrency"},
      {{"provision", "--yes", "--repos-file", "/nonexistent/file"}, "--repos-file"},
      {{"expiring", "--within", "soon"}, "--within"},
      {{"repos", "list", "--provider", "svn"}, "--provider"},
  };
  for (const auto& c : cases) {
    auto r = w.cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.names << ": " << r.err;
    EXPECT_NE(r.err.find(c.names), std::string::npos) << r.err;
  }
  auto nothing = w.cli({});
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_EQ(w.stored_token_count(), 0);
}

TEST(CliBadInput, RefusesWithoutATerminalAndWithoutYes) {
  CliWorld w(3);
  auto r = w.cli({"provision", "-o", (w.server->dir() / "t.csv").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--yes"), std::string::npos) << r.err;
  EXPECT_EQ(w.stored_token_count(), 0);
}

TEST(CliBadInput, CredentialsAndReachability) {
  CliWorld w(2);
  auto wrong = run_command(w.cli_args({"repos", "list"}), {}, {"CODACY_API_TOKEN=rtka_wrongwrongwrong"});
  EXPECT_EQ(wrong.exit_code, 4);  // authentication
  EXPECT_NE(wrong.err.find("API token was refused"), std::string::npos) << wrong.err;
  expect_one_line(wrong);

  auto unknown_org = run_command({REPOTOKENS_BIN, "provision", "--yes", "-o", "/dev/null", "--api-url",
                                  w.server->base_url(), "--provider", "gh", "--org", "no-such-org"},
                                 {}, w.cli_env());
  EXPECT_EQ(unknown_org.exit_code, 1);
  EXPECT_NE(unknown_org.err.find("no-such-org"), std::string::npos) << unknown_org.err;

  // An account token that expires in 2 s, used after it expired.
  auto user = w.http->post("/api/v3/admin/users", {{"name", "short-lived"}}, {api_token(w.world.admin.token)});
  ASSERT_EQ(user.status, 201) << user.body;
  auto tok = w.http->post("/api/v3/admin/users/" + std::to_string(user.json()["data"]["id"].get<std::int64_t>()) + "/tokens",
                          {{"expiresAt", rfc3339_from_now(2)}}, {api_token(w.world.admin.token)});
  ASSERT_EQ(tok.status, 201) << tok.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  auto expired = run_command(w.cli_args({"repos", "list"}), {},
                             {"CODACY_API_TOKEN=" + tok.json()["data"]["token"].get<std::string>()});
  EXPECT_EQ(expired.exit_code, 4);
  EXPECT_NE(expired.err.find("expired"), std::string::npos) << expired.err;
  expect_one_line(expired);

  // A port nothing listens on.
  auto unreachable = run_command({REPOTOKENS_BIN, "repos", "list", "--api-url", "http://127.0.0.1:1", "--provider", "gh",
                                  "--org", "acme", "--retries", "2"},
                                 {}, {"CODACY_API_TOKEN=x"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.err.find("cannot reach http://127.0.0.1:1"), std::string::npos) << unreachable.err;
  expect_one_line(unreachable);
}

}  // namespace rt::test
