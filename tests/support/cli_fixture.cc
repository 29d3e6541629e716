// The CLI integration-test harness: world building through `repotokens repo import`, process control
// (background, kill -9, pseudo-terminal) and server-side checks of tokens and secrets.
#include "support/cli_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

extern char** environ;

namespace rt::test {
namespace {

struct Exec {
  std::vector<std::string> args, envs;
  std::vector<char*> argv, envp;
  Exec(const std::vector<std::string>& a, const std::vector<std::string>& extra) : args(a) {
    for (char** e = environ; *e; ++e) {
      std::string s(*e);
      bool overridden = false;
      for (const auto& x : extra) overridden |= x.substr(0, x.find('=')) == s.substr(0, s.find('='));
      if (!overridden) envs.push_back(s);
    }
    for (const auto& x : extra) envs.push_back(x);
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : envs) envp.push_back(s.data());
    envp.push_back(nullptr);
  }
};

}  // namespace

CliWorld::CliWorld(int repositories, ServerOptions options, const std::string& org_name)
    : server(std::make_unique<ServerProcess>(std::move(options))), org(org_name) {
  http = std::make_unique<HttpClient>(server->base_url());
  world = bootstrap_world(*server, *http, org, {});
  std::string list;
  for (int i = 0; i < repositories; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "r-%04d", i);
    repos.push_back(name);
    list += std::string(name) + "\n";
  }
  if (repositories == 0) return;
  auto file = server->dir() / "repos.txt";
  std::ofstream(file) << list;
  auto r = cli({"repo", "import", file.string(), "--concurrency", "8"});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "repo import failed (exit " << r.exit_code << "): " << r.err << r.out;
    throw std::runtime_error("repo import failed");
  }
}

std::vector<std::string> CliWorld::cli_args(std::vector<std::string> args) const {
  std::vector<std::string> argv{REPOTOKENS_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::vector<std::string> connection{"--api-url", server->base_url(), "--provider", "gh", "--org", org};
  argv.insert(argv.end(), connection.begin(), connection.end());
  return argv;
}

std::vector<std::string> CliWorld::cli_env() const {
  return {"CODACY_API_TOKEN=" + world.admin.token, "XDG_STATE_HOME=" + (server->dir() / "state").string(),
          "XDG_CONFIG_HOME=" + (server->dir() / "config").string()};
}

CommandResult CliWorld::cli(std::vector<std::string> args, const std::string& stdin_text, int timeout_seconds,
                            std::vector<std::string> env) const {
  auto e = cli_env();
  e.insert(e.end(), env.begin(), env.end());
  return run_command(cli_args(std::move(args)), stdin_text, e, timeout_seconds);
}

std::vector<nlohmann::json> CliWorld::family_tokens(const std::string& repo, const std::string& base) const {
  static const std::regex suffix("-[a-z0-9]{12}");
  std::vector<nlohmann::json> out;
  for (auto& t : walk_all(*http, repo_path("gh", org, repo) + "/tokens", world.admin.token)) {
    std::string name = t.value("name", "");
    if (name == base || (name.starts_with(base) && std::regex_match(name.substr(base.size()), suffix))) out.push_back(t);
  }
  return out;
}

std::map<std::string, int> CliWorld::family_counts_in_db(const std::string& base) const {
  static const std::regex suffix("-[a-z0-9]{12}");
  std::map<std::string, int> counts;
  for (const auto& r : repos) counts[r] = 0;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const std::string sql =
      "SELECT r.name, t.name FROM repository_tokens t JOIN repositories r ON r.id = t.repository_id "
      "WHERE t.expires_at > " + std::to_string(now.count());
  for (const auto& row : query_rows(server->db_url(), sql)) {
    const std::string& name = row[1];
    if (name == base || (name.starts_with(base) && std::regex_match(name.substr(base.size()), suffix))) counts[row[0]]++;
  }
  return counts;
}

void CliWorld::expect_one_working_token_each(const std::filesystem::path& out) const {
  auto tokens = parse_token_csv(file_bytes(out));
  ASSERT_EQ(tokens.size(), repos.size());
  auto counts = family_counts_in_db();
  for (const auto& repo : repos) {
    ASSERT_EQ(counts[repo], 1) << repo;
    ASSERT_EQ(repository_status_with(repo, tokens[repo]), 200) << repo;
  }
}

long CliWorld::repository_status_with(const std::string& repo, const std::string& secret) const {
  return http->get(repo_path("gh", org, repo), {project_token(secret)}).status;
}

std::int64_t CliWorld::stored_token_count() const {
  auto counts = table_counts(server->db_url());
  for (const char* name : {"repository_tokens", "repo_tokens", "repository_token"})
    if (counts.count(name)) return counts[name];
  ADD_FAILURE() << "no repository token table found";
  return -1;
}

std::map<std::string, std::string> parse_token_csv(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto comma = line.find(',');
    if (comma != std::string::npos) out[line.substr(0, comma)] = line.substr(comma + 1);
  }
  return out;
}

BackgroundCommand::BackgroundCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                     const std::string& dir) {
  static int counter = 0;
  err_path_ = dir + "/bg-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + ".err";
  Exec spec(argv, env);
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int out = ::open((err_path_ + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(spec.argv[0], spec.argv.data(), spec.envp.data());
    _exit(127);
  }
  ::close(in);
  ::close(err);
  ::close(out);
}

BackgroundCommand::~BackgroundCommand() {
  if (running()) {
    kill9();
  }
}

void BackgroundCommand::kill9() {
  if (pid_ > 0 && status_ < 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

bool BackgroundCommand::running() {
  if (pid_ <= 0 || status_ >= 0) return false;
  int st = 0;
  if (::waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

int BackgroundCommand::wait() {
  if (status_ >= 0 || pid_ <= 0) return status_;
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {}
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return status_;
}

std::string BackgroundCommand::err() const { return file_bytes(err_path_); }

CommandResult run_on_terminal(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                              const std::string& typed, int type_after_ms, int timeout_seconds) {
  Exec spec(argv, env);
  int master = -1;
  winsize ws{40, 120, 0, 0};
  pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  if (pid == 0) {
    execve(spec.argv[0], spec.argv.data(), spec.envp.data());
    _exit(127);
  }
  CommandResult result;
  auto start = std::chrono::steady_clock::now();
  bool sent = typed.empty();
  for (;;) {
    auto elapsed = std::chrono::steady_clock::now() - start;
    if (!sent && elapsed > std::chrono::milliseconds(type_after_ms)) {
      (void)!::write(master, typed.data(), typed.size());
      sent = true;
    }
    if (elapsed > std::chrono::seconds(timeout_seconds)) {
      ::kill(pid, SIGKILL);
      ADD_FAILURE() << "command on the terminal timed out";
    }
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) {
      char buf[4096];
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0) {
        result.out.append(buf, static_cast<size_t>(n));
        continue;
      }
      // EIO: the child closed the terminal
    }
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      char buf[4096];
      for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;) result.out.append(buf, static_cast<size_t>(n));
      result.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
  }
  ::close(master);
  return result;
}

}  // namespace rt::test
