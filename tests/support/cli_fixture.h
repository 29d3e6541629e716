// Test harness for the CLI's integration tests: a repotokensd with an instance admin, an organization and
// N repositories (added with `repotokens repo import`), running the real `repotokens` binary (to completion,
// in the background to kill it, or under a pseudo-terminal), and reading back what the server holds.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/api_fixture.h"
#include "support/http_client.h"
#include "support/server_process.h"

namespace rt::test {

struct CliWorld {
  explicit CliWorld(int repositories, ServerOptions options = {}, const std::string& org = "acme");
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<HttpClient> http;
  World world;
  std::string org;
  std::vector<std::string> repos;  // r-0000, r-0001, ...

  // Runs `repotokens ARGS --api-url URL --provider gh --org ORG` with CODACY_API_TOKEN set, stdin from
  // /dev/null-like empty input (not a terminal).
  CommandResult cli(std::vector<std::string> args, const std::string& stdin_text = {}, int timeout_seconds = 300,
                    std::vector<std::string> env = {}) const;
  std::vector<std::string> cli_args(std::vector<std::string> args) const;  // the full argv
  std::vector<std::string> cli_env() const;

  // Live tokens of a repository whose name belongs to the family of `base` (base or base-<12 [a-z0-9]>).
  std::vector<nlohmann::json> family_tokens(const std::string& repo, const std::string& base = "ci-coverage") const;
  // The same count for every repository at once, read from the database (no API requests, so it works
  // while the server's rate limit is the thing under test): repository name -> live family tokens.
  std::map<std::string, int> family_counts_in_db(const std::string& base = "ci-coverage") const;
  // Does `secret` open `repo` (GET getRepository with project-token)? Returns the status.
  long repository_status_with(const std::string& repo, const std::string& secret) const;
  // Number of repository tokens in the database (live or not).
  std::int64_t stored_token_count() const;
  // The run's output file `out` (repository,token lines) holds one secret per repository, each repository
  // has exactly one live token of the family, and each secret opens its repository. Counted in the
  // database and checked with each repository's own token, so the check itself is not rate limited.
  void expect_one_working_token_each(const std::filesystem::path& out) const;
};

// `repository,token` lines -> map.
std::map<std::string, std::string> parse_token_csv(const std::string& text);

// A CLI process running in the background (stdout/stderr to files), to be killed or waited for.
class BackgroundCommand {
 public:
  BackgroundCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& dir);
  ~BackgroundCommand();
  void kill9();
  int wait();  // exit status, or 128+signal
  bool running();
  std::string err() const;

 private:
  pid_t pid_ = -1;
  std::string err_path_;
  int status_ = -1;
};

// Runs a command on a pseudo-terminal (stdin, stdout and stderr all the terminal); everything it wrote to
// the terminal is returned in `out`, `typed` is sent as keyboard input after `type_after_ms`.
CommandResult run_on_terminal(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                              const std::string& typed = {}, int type_after_ms = 500, int timeout_seconds = 120);

}  // namespace rt::test
