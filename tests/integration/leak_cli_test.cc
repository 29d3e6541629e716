// `repotokens revoke-leaked` against a real server, without any credential: secrets from stdin or a file,
// one a line, each reported to POST /api/v3/tokens/revoke; the live ones are revoked, lines that are not
// tokens are skipped by line number, and no secret is ever printed.
#include <gtest/gtest.h>

#include <fstream>

#include "core/secret.h"
#include "support/api_fixture.h"

namespace rt::test {
namespace {

class LeakCli : public ::testing::Test {
 protected:
  ServerProcess server;
  HttpClient http{server.base_url()};
  World w = bootstrap_world(server, http, "acme", {"api"});
  CommandResult revoke_leaked(std::vector<std::string> args, const std::string& stdin_text = {}) {
    std::vector<std::string> argv = {REPOTOKENS_BIN, "revoke-leaked", "--api-url", server.base_url()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, stdin_text, {"CODACY_API_TOKEN=", "NO_COLOR=1"});
  }
};

TEST_F(LeakCli, ReportsEachSecretOfStdinAndNeverPrintsOne) {
  auto a = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  auto b = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  auto kept = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  SystemRandom random;
  std::string mistyped = kept.secret;
  mistyped[9] = mistyped[9] == 'a' ? 'b' : 'a';
  const std::string unknown = generate_token(TokenKind::account, random);
  const std::string input = "# found in build 12\n" + a.secret + "\n  " + b.secret + "\r\n\n" + mistyped + "\n" + unknown +
                            "\nnot a token\n" + a.secret + "\n";
  auto r = revoke_leaked({"--location", "https://ci.example/build/12"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sent 3 secret(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("does not say which"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("skipped 2 line(s)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 5, 7"), std::string::npos) << r.err;
  for (const std::string& s : {a.secret, b.secret, kept.secret, mistyped, unknown}) {
    EXPECT_EQ(r.out.find(s.substr(5, 20)), std::string::npos) << "stdout shows a secret";
    EXPECT_EQ(r.err.find(s.substr(5, 20)), std::string::npos) << "stderr shows a secret";
  }
  const std::string repo = repo_path("gh", "acme", "api");
  EXPECT_TRUE(IsApiError(http.get(repo, {project_token(a.secret)}), 401));
  EXPECT_TRUE(IsApiError(http.get(repo, {project_token(b.secret)}), 401));
  EXPECT_EQ(http.get(repo, {project_token(kept.secret)}).status, 200);
  int leaked = 0;
  for (auto& e : walk_all(http, org_path("gh", "acme") + "/audit", w.admin.token))
    if (e["action"] == "token.leaked") {
      ++leaked;
      EXPECT_NE(e["description"].get<std::string>().find("https://ci.example/build/12"), std::string::npos);
    }
  EXPECT_EQ(leaked, 2);
}

TEST_F(LeakCli, ReadsAFileAndSaysWhenThereIsNothingToReport) {
  auto t = create_repository_token(http, w.admin.token, "gh", "acme", "api");
  TempDir dir;
  auto path = dir.path() / "found.txt";
  std::ofstream(path) << t.secret << "\n";
  auto r = revoke_leaked({"--file", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sent 1 secret(s)"), std::string::npos) << r.out;
  EXPECT_TRUE(IsApiError(http.get(repo_path("gh", "acme", "api"), {project_token(t.secret)}), 401));

  auto none = revoke_leaked({}, "hello\n");
  EXPECT_EQ(none.exit_code, 1) << none.err;
  EXPECT_NE(none.err.find("no repotokens token to report"), std::string::npos) << none.err;
  auto missing = revoke_leaked({"--file", (dir.path() / "absent.txt").string()});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

}  // namespace
}  // namespace rt::test
