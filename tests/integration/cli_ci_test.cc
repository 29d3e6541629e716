// Secretless CI from the CLI's side: the real `repotokens` binary against a real repotokensd that trusts
// the test OIDC issuer (tests/oidc_issuer/oidc_issuer.py, which also stands in for GitHub Actions' ID-token
// endpoint). `ci token` in GitHub, GitLab, file and stdin modes, its export and masking, its errors; and
// `trust add|list|remove`, one repository and in bulk by --match with the remoteIdentifier mapping.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "support/cli_fixture.h"
#include "support/oidc_issuer.h"

namespace rt::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kAudience = "https://repotokens.example";
constexpr const char* kRequestToken = "actions-request-token-5f2b9c";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The variables of a CI system, all blank, so that the CI running these tests (GitHub Actions, say) does not
// leak its own into the commands; each test sets what its mode needs after these.
std::vector<std::string> no_ci_env() {
  return {"GITHUB_ACTIONS=", "GITHUB_ENV=", "ACTIONS_ID_TOKEN_REQUEST_URL=", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=",
          "GITLAB_CI=", "REPOTOKENS_ID_TOKEN="};
}

std::vector<std::string> with(std::vector<std::string> env, const std::vector<std::string>& more) {
  env.insert(env.end(), more.begin(), more.end());
  return env;
}

// A loopback port chosen at run time that nothing listens on (bound, then closed).
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class CliCi : public ::testing::Test {
 protected:
  OidcIssuer github;  // a GitHub-kind issuer (and the Actions ID-token endpoint)
  OidcIssuer gitlab;  // a GitLab-kind issuer
  CliWorld w{4, ServerOptions{.db_url = {},
                              .extra_args = {"--ci-issuer", "github=" + github.url(), "--ci-issuer",
                                             "gitlab=" + gitlab.url(), "--ci-audience", kAudience},
                              .env = {}}};

  // A job of acme/<repo> on GitHub with repository id `id`, valid now, with a fresh jti.
  json github_claims(const std::string& repo, const std::string& id) {
    static std::atomic<int> serial{0};
    const std::int64_t now = unix_now();
    return {{"iss", github.url()},
            {"aud", kAudience},
            {"exp", now + 300},
            {"nbf", now - 5},
            {"iat", now - 5},
            {"jti", "job-" + std::to_string(serial++) + "-" + std::to_string(now)},
            {"repository", "acme/" + repo},
            {"repository_id", id},
            {"ref", "refs/heads/main"},
            {"sha", "0123456789abcdef0123456789abcdef01234567"},
            {"run_id", "4242"}};
  }
  std::string signed_github_jwt(const std::string& repo, const std::string& id) {
    return github.sign({.claims = github_claims(repo, id)});
  }

  CommandResult cli(std::vector<std::string> args, const std::vector<std::string>& env = {},
                    const std::string& stdin_text = {}) {
    return w.cli(std::move(args), stdin_text, 120, with(no_ci_env(), env));
  }
  // `trust add` for one repository through the CLI; expects success.
  void trust(const std::string& repo, const std::string& issuer, const std::vector<std::string>& claims) {
    std::vector<std::string> args{"trust", "add", "--repo", repo, "--issuer", issuer};
    for (const auto& c : claims) args.insert(args.end(), {"--claim", c});
    auto r = cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  }
  std::vector<std::string> github_job_env() {
    return {"GITHUB_ACTIONS=true", "ACTIONS_ID_TOKEN_REQUEST_URL=" + github.actions_request_url(),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + std::string(kRequestToken)};
  }
  std::int64_t tokens() { return table_counts(w.server->db_url())["repository_tokens"]; }
  std::int64_t rules() { return table_counts(w.server->db_url())["ci_trust_rules"]; }
  long uploads_with(const std::string& token) {
    json report = {{"fileReports", {{{"filename", "src/a.go"}, {"coverage", {{"1", 1}, {"2", 0}}}}}}};
    return w.http->request("POST", "/2.0/coverage/abc123/go", report.dump(),
                           {project_token(token), "Content-Type: application/json"})
        .status;
  }
  json rules_of(const std::string& repo) {
    auto r = cli({"trust", "list", "--repo", repo, "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json list = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(list.is_array()) << r.out;
    return list.is_array() ? list : json::array();
  }
};

TEST_F(CliCi, GitHubModeRequestsTheJobsIdTokenAndPrintsATokenThatUploadsCoverage) {
  trust("r-0000", github.url(), {"repository_id=1001", "ref=refs/heads/*"});
  github.arm_actions(kRequestToken, github_claims("r-0000", "1001"));
  auto r = cli({"ci", "token", "--audience", kAudience}, github_job_env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.rfind("rtkr_", 0), 0u) << r.out;
  ASSERT_EQ(r.out.back(), '\n');
  const std::string token = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(token.find('\n'), std::string::npos) << "stdout holds the token only";
  EXPECT_EQ(r.err.find(token), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(kRequestToken), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("gh/acme/r-0000"), std::string::npos) << r.err;
  EXPECT_EQ(github.actions_audiences(), std::vector<std::string>{kAudience});
  EXPECT_EQ(uploads_with(token), 200);
  EXPECT_EQ(w.repository_status_with("r-0000", token), 200);

  // The runner's request token is checked by the stand-in: a wrong one is GitHub's refusal, issuing nothing.
  const std::int64_t before = tokens();
  auto wrong = cli({"ci", "token", "--audience", kAudience},
                   with(github_job_env(), {"ACTIONS_ID_TOKEN_REQUEST_TOKEN=not-the-runners"}));
  EXPECT_EQ(wrong.exit_code, 1) << wrong.err;
  EXPECT_NE(wrong.err.find("GitHub's ID-token endpoint answered HTTP 401"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.out, "");
  EXPECT_EQ(tokens(), before);
}

TEST_F(CliCi, ExportAppendsToGithubEnvWithMode0600AfterAddMaskAndShowsTheTokenNowhereElse) {
  trust("r-0000", github.url(), {"repository_id=1001"});
  github.arm_actions(kRequestToken, github_claims("r-0000", "1001"));
  const fs::path env_file = w.server->dir() / "github_env";
  auto r = cli({"ci", "token", "--audience", kAudience, "--export"},
               with(github_job_env(), {"GITHUB_ENV=" + env_file.string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string content = read_file(env_file);
  ASSERT_EQ(content.rfind("CODACY_PROJECT_TOKEN=rtkr_", 0), 0u) << content;
  const std::string token = content.substr(std::string("CODACY_PROJECT_TOKEN=").size(),
                                           content.size() - std::string("CODACY_PROJECT_TOKEN=").size() - 1);
  EXPECT_EQ(content, "CODACY_PROJECT_TOKEN=" + token + "\n");
  EXPECT_EQ(r.out, "::add-mask::" + token + "\n") << "the mask line and nothing else on stdout";
  EXPECT_EQ(r.err.find(token), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CODACY_PROJECT_TOKEN exported to $GITHUB_ENV"), std::string::npos) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat(env_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(uploads_with(token), 200);

  // A dotenv file outside GitHub: appended (never truncated), 0600, and no mask line (not on GitHub).
  const fs::path dotenv = w.server->dir() / "ci.env";
  std::ofstream(dotenv) << "KEEP=1\n";
  ::chmod(dotenv.c_str(), 0644);
  const fs::path jwt = w.server->dir() / "job.jwt";
  std::ofstream(jwt) << signed_github_jwt("r-0000", "1001") << "\n";
  auto f = cli({"ci", "token", "--id-token-file", jwt.string(), "--export-file", dotenv.string()});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(f.out, "");
  const std::string lines = read_file(dotenv);
  EXPECT_EQ(lines.rfind("KEEP=1\nCODACY_PROJECT_TOKEN=rtkr_", 0), 0u) << lines;
  ASSERT_EQ(::stat(dotenv.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(f.err.find(lines.substr(lines.find("rtkr_"), 20)), std::string::npos) << f.err;
}

TEST_F(CliCi, GitLabModeReadsTheIdTokenFromTheNamedVariable) {
  trust("r-0001", gitlab.url(), {"project_id=42", "ref=main"});
  const std::int64_t now = unix_now();
  json claims = {{"iss", gitlab.url()}, {"aud", kAudience},       {"exp", now + 300},
                 {"nbf", now - 5},      {"iat", now - 5},          {"jti", "gl-" + std::to_string(now)},
                 {"project_id", "42"},  {"project_path", "acme/r-0001"}, {"ref", "main"},
                 {"pipeline_id", "900"}};
  const std::string jwt = gitlab.sign({.claims = claims});
  auto r = cli({"ci", "token", "--id-token-env", "REPOTOKENS_ID_TOKEN"}, {"GITLAB_CI=true", "REPOTOKENS_ID_TOKEN=" + jwt});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string token = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(w.repository_status_with("r-0001", token), 200);
  EXPECT_EQ(uploads_with(token), 200);
  EXPECT_EQ(r.err.find(jwt), std::string::npos) << "the ID token is a credential too";

  // Declared nowhere: what to add to the job, exit 2, nothing issued.
  const std::int64_t before = tokens();
  auto missing = cli({"ci", "token", "--id-token-env", "REPOTOKENS_ID_TOKEN"}, {"GITLAB_CI=true"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("REPOTOKENS_ID_TOKEN is not set"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("id_tokens:"), std::string::npos) << missing.err;
  auto bare = cli({"ci", "token"}, {"GITLAB_CI=true"});
  EXPECT_EQ(bare.exit_code, 2);
  EXPECT_NE(bare.err.find("--id-token-env REPOTOKENS_ID_TOKEN"), std::string::npos) << bare.err;
  EXPECT_EQ(tokens(), before);
}

TEST_F(CliCi, FileAndStdinModesExchangeAJwtAndAReplayIsRefusedWithTheServersReason) {
  trust("r-0002", github.url(), {"repository_id=1003"});
  const fs::path file = w.server->dir() / "job.jwt";
  const std::string once = signed_github_jwt("r-0002", "1003");
  std::ofstream(file) << once << "\n";
  auto r = cli({"ci", "token", "--id-token-file", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(w.repository_status_with("r-0002", r.out.substr(0, r.out.find('\n'))), 200);

  auto piped = cli({"ci", "token", "--id-token-file", "-"}, {}, signed_github_jwt("r-0002", "1003") + "\n");
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(w.repository_status_with("r-0002", piped.out.substr(0, piped.out.find('\n'))), 200);

  const std::int64_t before = tokens();
  auto replay = cli({"ci", "token", "--id-token-file", file.string()});
  EXPECT_EQ(replay.exit_code, 4) << replay.err;
  EXPECT_NE(replay.err.find("refused the ID token from file " + file.string() + ": replayed"), std::string::npos)
      << replay.err;
  EXPECT_EQ(replay.out, "");

  auto garbage = cli({"ci", "token", "--id-token-file", "-"}, {}, "not a jwt\n");
  EXPECT_EQ(garbage.exit_code, 2);
  EXPECT_NE(garbage.err.find("is not a JWT"), std::string::npos) << garbage.err;
  EXPECT_EQ(tokens(), before);
}

TEST_F(CliCi, AMissingIdTokenSourceSaysWhatToAddAndIssuesNothing) {
  const std::int64_t before = tokens();
  auto github_job = cli({"ci", "token", "--export"}, {"GITHUB_ACTIONS=true", "GITHUB_ENV=" + (w.server->dir() / "e").string()});
  EXPECT_EQ(github_job.exit_code, 2);
  EXPECT_NE(github_job.err.find("permissions: id-token: write"), std::string::npos) << github_job.err;
  EXPECT_EQ(github_job.out, "");
  EXPECT_EQ(read_file(w.server->dir() / "e"), "");

  auto nowhere = cli({"ci", "token"});
  EXPECT_EQ(nowhere.exit_code, 2);
  EXPECT_NE(nowhere.err.find("--id-token-file FILE"), std::string::npos) << nowhere.err;

  auto no_env_file = cli({"ci", "token", "--export", "--id-token-file", "-"}, {}, signed_github_jwt("r-0000", "1001"));
  EXPECT_EQ(no_env_file.exit_code, 2);
  EXPECT_NE(no_env_file.err.find("$GITHUB_ENV is not set"), std::string::npos) << no_env_file.err;
  EXPECT_EQ(tokens(), before);
}

TEST_F(CliCi, RefusalsPrintTheServersReasonAndAnUnreachableServerSaysSo) {
  trust("r-0000", github.url(), {"repository_id=1001"});
  github.arm_actions(kRequestToken, github_claims("r-0000", "1001"));
  const std::int64_t before = tokens();
  // Without --audience the job asks for the API URL, which this server (--ci-audience) does not expect.
  auto wrong_aud = cli({"ci", "token"}, github_job_env());
  EXPECT_EQ(wrong_aud.exit_code, 4) << wrong_aud.err;
  EXPECT_NE(wrong_aud.err.find("wrong audience"), std::string::npos) << wrong_aud.err;
  EXPECT_NE(wrong_aud.err.find("--audience"), std::string::npos) << wrong_aud.err;
  EXPECT_EQ(github.actions_audiences(), std::vector<std::string>{w.server->base_url()});

  auto no_rule = cli({"ci", "token", "--id-token-file", "-"}, {}, signed_github_jwt("r-0000", "9999"));
  EXPECT_EQ(no_rule.exit_code, 4);
  EXPECT_NE(no_rule.err.find("no trust rule matched"), std::string::npos) << no_rule.err;
  EXPECT_NE(no_rule.err.find("repotokens trust add"), std::string::npos) << no_rule.err;
  EXPECT_EQ(tokens(), before);

  const std::string closed = "http://127.0.0.1:" + std::to_string(closed_port());
  auto down = run_command({REPOTOKENS_BIN, "ci", "token", "--id-token-file", "-", "--api-url", closed},
                          signed_github_jwt("r-0000", "1001"), no_ci_env());
  EXPECT_EQ(down.exit_code, 1) << down.err;
  EXPECT_NE(down.err.find("cannot reach " + closed + ": connection refused"), std::string::npos) << down.err;
  EXPECT_EQ(down.out, "");
}

TEST_F(CliCi, TrustAddListRemoveForOneRepositoryIsIdempotentAndRefusesBadInput) {
  auto added = cli({"trust", "add", "--repo", "r-0000", "--issuer", github.url(), "--claim", "repository_id=1001",
                    "--claim", "ref=refs/heads/*", "--lifetime-minutes", "20"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_NE(added.out.find("added trust rule"), std::string::npos) << added.out;
  auto again = cli({"trust", "add", "--repo", "r-0000", "--issuer", github.url(), "--claim", "ref=refs/heads/*",
                    "--claim", "repository_id=1001", "--lifetime-minutes", "20"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already has this rule"), std::string::npos) << again.out;
  json listed = rules_of("r-0000");
  ASSERT_EQ(listed.size(), 1u) << listed;
  EXPECT_EQ(listed[0]["claims"], json({{"repository_id", "1001"}, {"ref", "refs/heads/*"}}));
  EXPECT_EQ(listed[0]["audience"], kAudience);
  EXPECT_EQ(listed[0]["lifetimeMinutes"], 20);
  // Another lifetime is another rule.
  ASSERT_EQ(cli({"trust", "add", "--repo", "r-0000", "--issuer", github.url(), "--claim", "repository_id=1001",
                 "--claim", "ref=refs/heads/*"}).exit_code, 0);
  EXPECT_EQ(rules_of("r-0000").size(), 2u);
  auto table = cli({"trust", "list", "--repo", "r-0000"});
  EXPECT_NE(table.out.find("ref=refs/heads/* repository_id=1001"), std::string::npos) << table.out;

  const std::int64_t stored = rules();
  auto bad_claim = cli({"trust", "add", "--repo", "r-0000", "--issuer", github.url(), "--claim", "repository_id"});
  EXPECT_EQ(bad_claim.exit_code, 2);
  EXPECT_NE(bad_claim.err.find("expected NAME=VALUE"), std::string::npos) << bad_claim.err;
  auto unknown = cli({"trust", "add", "--repo", "nope", "--issuer", github.url(), "--claim", "repository_id=1"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("not found"), std::string::npos) << unknown.err;
  auto no_id = cli({"trust", "add", "--repo", "r-0000", "--issuer", github.url(), "--claim", "ref=refs/heads/main"});
  EXPECT_EQ(no_id.exit_code, 1);
  EXPECT_NE(no_id.err.find("bindsOnlyNames"), std::string::npos) << no_id.err;
  auto both = cli({"trust", "add", "--repo", "r-0000", "--match", "r-*", "--claim", "ref=x"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_EQ(rules(), stored);

  const std::int64_t id = listed[0]["id"];
  auto removed = cli({"trust", "remove", "--repo", "r-0000", "--id", std::to_string(id)});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(rules_of("r-0000").size(), 1u);
  auto gone = cli({"trust", "remove", "--repo", "r-0000", "--id", std::to_string(id)});
  EXPECT_EQ(gone.exit_code, 1) << gone.err;
}

TEST_F(CliCi, BulkTrustAddBindsEachRepositoryToItsGithubIdAndSkipsThoseWithoutOne) {
  // What Codacy keeps for a GitHub repository, given here with addRepository's remoteIdentifier: its GitHub id.
  for (const auto& [repo, id] : std::vector<std::pair<std::string, std::string>>{{"r-0010", "5000"}, {"r-0011", "5001"}}) {
    auto added = cli({"repo", "add", repo, "--remote-identifier", id});
    ASSERT_EQ(added.exit_code, 0) << added.err;
  }
  ASSERT_EQ(cli({"repo", "add", "r-0012"}).exit_code, 0);  // its remoteIdentifier is its full path
  auto too_long = cli({"repo", "add", "r-0013", "--remote-identifier", std::string(201, '1')});
  EXPECT_NE(too_long.exit_code, 0);
  EXPECT_NE(too_long.err.find("remoteIdentifier must have 1 to 200 characters"), std::string::npos) << too_long.err;
  const std::vector<std::string> bulk{"trust", "add", "--match", "r-001[0-3]", "--issuer", github.url(),
                                      "--claim", "ref=refs/heads/main"};
  auto refused = cli(bulk);  // not a terminal, no --yes
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("pass --yes"), std::string::npos) << refused.err;
  EXPECT_EQ(rules(), 0);

  auto dry = cli(with(bulk, {"--dry-run"}));
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.out, "add r-0010 (repository_id 5000)\nadd r-0011 (repository_id 5001)\n");
  EXPECT_NE(dry.err.find("skipped 1 repository without a GitHub repository id (a remoteIdentifier that is not one): "
                         "gh/acme/r-0012; add its rule with"),
            std::string::npos)
      << dry.err;
  EXPECT_EQ(rules(), 0);
  // Many without an id: the first few are named in one line and the rest counted, not one line each.
  for (int i = 0; i < 8; ++i) ASSERT_EQ(cli({"repo", "add", "r-002" + std::to_string(i)}).exit_code, 0);
  auto many = cli({"trust", "add", "--match", "r-002?", "--issuer", github.url(), "--dry-run"});
  ASSERT_EQ(many.exit_code, 0) << many.err;
  EXPECT_NE(many.err.find("skipped 8 repositories without a GitHub repository id (a remoteIdentifier that is not one): "
                          "gh/acme/r-0020, gh/acme/r-0021, gh/acme/r-0022, and 5 more; add their rules with"),
            std::string::npos)
      << many.err;
  EXPECT_EQ(std::count(many.err.begin(), many.err.end(), '\n'), 3) << many.err;  // skipped, plan, dry run

  auto done = cli(with(bulk, {"--yes"}));
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_NE(done.err.find("added 2, already present 0, skipped 1 (no repository id), failed 0"), std::string::npos)
      << done.err;
  EXPECT_EQ(rules_of("r-0011")[0]["claims"], json({{"repository_id", "5001"}, {"ref", "refs/heads/main"}}));
  EXPECT_EQ(rules_of("r-0012").size(), 0u);
  EXPECT_EQ(rules_of("r-0000").size(), 0u);

  auto twice = cli(with(bulk, {"--yes"}));
  ASSERT_EQ(twice.exit_code, 0) << twice.err;
  EXPECT_NE(twice.err.find("0 to add, 2 already have it"), std::string::npos) << twice.err;
  EXPECT_EQ(rules(), 2);

  // The mapping is what the exchange checks: a job of repository id 5001 gets a token of r-0011.
  auto r = cli({"ci", "token", "--id-token-file", "-"}, {}, signed_github_jwt("r-0011", "5001"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(w.repository_status_with("r-0011", r.out.substr(0, r.out.find('\n'))), 200);

  auto explicit_id = cli(with(bulk, {"--yes", "--claim", "repository_id=1"}));
  EXPECT_EQ(explicit_id.exit_code, 2);
  EXPECT_EQ(rules(), 2);
}

TEST_F(CliCi, OnATerminalBulkTrustAsksAndCiTokenDoesNotPrintTheSecret) {
  execute_sql(w.server->db_url(), "UPDATE repositories SET remote_identifier = '5000' WHERE name = 'r-0000'");
  auto env = with(w.cli_env(), no_ci_env());
  const auto bulk = w.cli_args({"trust", "add", "--match", "r-*", "--issuer", github.url(), "--claim", "ref=refs/heads/main"});
  auto no = run_on_terminal(bulk, env, "n\n");
  EXPECT_EQ(no.exit_code, 3) << no.out;
  EXPECT_NE(no.out.find("Add trust rules to 1 repositories in gh/acme? [y/N]"), std::string::npos) << no.out;
  EXPECT_EQ(rules(), 0);
  auto yes = run_on_terminal(bulk, env, "y\n");
  EXPECT_EQ(yes.exit_code, 0) << yes.out;
  EXPECT_EQ(rules(), 1);

  // The job's token is not shown on a terminal (and so not issued) unless asked for.
  const std::int64_t before = tokens();
  const std::string jwt_file = (w.server->dir() / "t.jwt").string();
  std::ofstream(jwt_file) << signed_github_jwt("r-0000", "5000");
  auto hidden = run_on_terminal(w.cli_args({"ci", "token", "--id-token-file", jwt_file}), env);
  EXPECT_EQ(hidden.exit_code, 2) << hidden.out;
  EXPECT_NE(hidden.out.find("not printed on a terminal"), std::string::npos) << hidden.out;
  EXPECT_EQ(tokens(), before);
  auto shown = run_on_terminal(w.cli_args({"ci", "token", "--id-token-file", jwt_file, "--show-secret"}), env);
  EXPECT_EQ(shown.exit_code, 0) << shown.out;
  EXPECT_NE(shown.out.find("rtkr_"), std::string::npos) << shown.out;
}

}  // namespace
}  // namespace rt::test
