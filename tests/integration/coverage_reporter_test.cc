// Compatibility with Codacy's own Node.js coverage reporter (npm codacy-coverage 3.4.0), driven unchanged
// but for --endpoint against a real repotokensd. The package is installed once per run into a temporary
// folder with `npm install --ignore-scripts`; when node/npm are missing or the registry cannot be reached,
// every test here is reported SKIPPED with the reason, never passed.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/api_fixture.h"

namespace rt::test {
namespace {

using nlohmann::json;

// lcov for two files: 3 of 4 lines covered in a.js, 1 of 4 in b.js -> 50%.
const char* kLcov =
    "TN:\nSF:src/a.js\nDA:1,1\nDA:2,5\nDA:3,0\nDA:4,2\nLF:4\nLH:3\nend_of_record\n"
    "SF:src/b.js\nDA:1,1\nDA:2,0\nDA:3,0\nDA:4,0\nLF:4\nLH:1\nend_of_record\n";

struct Reporter {
  std::unique_ptr<TempDir> dir;
  std::string script;       // path of bin/codacy-coverage.js
  std::string skip_reason;  // non-empty: cannot run here
};

const Reporter& reporter() {
  static Reporter r = [] {
    Reporter out;
    if (run_command({"/bin/sh", "-c", "command -v node && command -v npm"}).exit_code != 0) {
      out.skip_reason = "node or npm is not installed";
      return out;
    }
    out.dir = std::make_unique<TempDir>();
    auto install = run_command({"/usr/bin/env", "npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix",
                                out.dir->path().string(), "codacy-coverage@3.4.0"},
                               {}, {}, 300);
    auto script = out.dir->path() / "node_modules" / "codacy-coverage" / "bin" / "codacy-coverage.js";
    if (install.exit_code != 0 || !std::filesystem::exists(script)) {
      out.skip_reason = "npm install codacy-coverage@3.4.0 failed (registry unreachable?): " +
                        install.err.substr(0, 500);
      return out;
    }
    out.script = script.string();
    return out;
  }();
  return r;
}

class Reporter340 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!reporter().skip_reason.empty()) GTEST_SKIP() << reporter().skip_reason;
    server_ = std::make_unique<ServerProcess>();
    http_ = std::make_unique<HttpClient>(server_->base_url());
    w_ = bootstrap_world(*server_, *http_, "acme", {"api", "web"});
  }

  // Runs the reporter with lcov on stdin; returns its exit status (output kept for failure messages).
  CommandResult run(std::vector<std::string> args, const std::string& lcov = kLcov) {
    std::vector<std::string> argv = {"/usr/bin/env", "node", reporter().script, "--endpoint", server_->base_url(), "-c",
                                     "0123456789abcdef0123456789abcdef01234567", "-l", "javascript"};
    argv.insert(argv.end(), args.begin(), args.end());
    // No CODACY_* variables from the environment may stand in for the token under test.
    return run_command(argv, lcov, {"CODACY_PROJECT_TOKEN=", "CODACY_REPO_TOKEN=", "CODACY_ACCOUNT_TOKEN="}, 120);
  }
  json status(const std::string& repo) {
    auto r = http_->get(repo_path("gh", "acme", repo) + "/coverage/uploads", {api_token(w_.admin.token)});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["data"];
  }
  std::int64_t coverage_rows() { return table_counts(server_->db_url())["coverage_reports"]; }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> http_;
  World w_;
};

TEST_F(Reporter340, ProjectTokenUploadLandsOnItsOwnRepositoryWithTheRightPercentage) {
  auto t = create_repository_token(*http_, w_.admin.token, "gh", "acme", "api");
  auto r = run({"-t", t.secret});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json list = status("api");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["commit"], "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(list[0]["language"], "javascript");
  EXPECT_EQ(list[0]["status"], "final");
  EXPECT_EQ(list[0]["files"], 2);
  EXPECT_EQ(list[0]["coverage"], 50.0);
  EXPECT_TRUE(status("web").empty()) << "a project token wrote to another repository";
}

TEST_F(Reporter340, WrongTokenFailsAndStoresNothing) {
  auto t = create_repository_token(*http_, w_.admin.token, "gh", "acme", "api");
  std::string wrong = t.secret;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  auto r = run({"-t", wrong});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(coverage_rows(), 0);
  EXPECT_TRUE(status("api").empty());
}

TEST_F(Reporter340, RevokedTokenFailsAndStoresNothing) {
  auto t = create_repository_token(*http_, w_.admin.token, "gh", "acme", "api");
  ASSERT_EQ(http_->del(repo_path("gh", "acme", "api") + "/tokens/" + std::to_string(t.id),
                       {api_token(w_.admin.token)}).status, 204);
  auto r = run({"-t", t.secret});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(coverage_rows(), 0);
}

TEST_F(Reporter340, AccountTokenNeedsWritePermission) {
  TestUser reader = create_user(*http_, w_.admin.token, "reader");
  TestUser writer = create_user(*http_, w_.admin.token, "writer");
  for (const auto& [u, perm] : {std::pair{reader, "read"}, std::pair{writer, "write"}}) {
    set_org_role(*http_, w_.admin.token, "gh", "acme", u.id, "member");
    grant_permission(*http_, w_.admin.token, "gh", "acme", "api", u.id, perm);
  }
  auto refused = run({"-a", reader.token, "-u", "acme", "-n", "api"});
  EXPECT_NE(refused.exit_code, 0) << refused.out << refused.err;
  EXPECT_EQ(coverage_rows(), 0);

  // The reporter uses the oldest, provider-less path with the api_token header.
  auto accepted = run({"-a", writer.token, "-u", "acme", "-n", "api"});
  ASSERT_EQ(accepted.exit_code, 0) << accepted.out << accepted.err;
  json list = status("api");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["coverage"], 50.0);
}

}  // namespace
}  // namespace rt::test
