// Starting and stopping the Codacy stand-in (a Python process whose first output line names its port).
#include "support/codacy_standin.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

namespace rt::test {

bool standin_available() { return ::access("/usr/bin/python3", X_OK) == 0; }

pid_t start_listening_child(std::vector<std::string> args, const std::string& what, int& port) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the test program, even one that crashed
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line;
  char c;
  while (line.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) line += c;
  ::close(out[0]);
  if (line.rfind("listening ", 0) != 0) {
    ADD_FAILURE() << what << " did not start: '" << line << "'";
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    throw std::runtime_error(what + " did not start");
  }
  port = std::stoi(line.substr(10));
  return pid;
}

CodacyStandin::CodacyStandin(StandinOptions o) : token_("standin-account-token-0123456789") {
  const std::string script = std::string(REPOTOKENS_SOURCE_DIR) + "/tests/codacy_standin/codacy_standin.py";
  std::vector<std::string> args{"/usr/bin/python3", script, "--token", token_, "--repos", std::to_string(o.repos),
                                "--window-quota", std::to_string(o.window_quota), "--window-seconds",
                                std::to_string(o.window_seconds), "--bad-gateway-every",
                                std::to_string(o.bad_gateway_every)};
  pid_ = start_listening_child(std::move(args), "the Codacy stand-in", port_);
  http_ = std::make_unique<HttpClient>(base_url());
}

CodacyStandin::~CodacyStandin() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::string CodacyStandin::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

nlohmann::json CodacyStandin::state() const {
  auto r = http_->get("/_standin/state");
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json();
}

std::map<std::string, std::vector<nlohmann::json>> CodacyStandin::tokens() const {
  std::map<std::string, std::vector<nlohmann::json>> out;
  const nlohmann::json held = state();  // a named value: items() of a temporary's member would dangle
  for (auto& [repo, list] : held["tokens"].items()) out[repo] = list.get<std::vector<nlohmann::json>>();
  return out;
}

long CodacyStandin::counter(const std::string& name) const { return state()["counters"].value(name, 0L); }

CommandResult CodacyStandin::cli(std::vector<std::string> args, const std::string& api_url, int timeout_seconds) const {
  std::vector<std::string> argv{REPOTOKENS_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::vector<std::string> connection{"--api-url", api_url.empty() ? base_url() : api_url, "--provider", "gh",
                                            "--org", "acme"};
  argv.insert(argv.end(), connection.begin(), connection.end());
  return run_command(argv, {}, {"CODACY_API_TOKEN=" + token_, "XDG_STATE_HOME=" + (dir() / "state").string(),
                                "XDG_CONFIG_HOME=" + (dir() / "config").string()},
                     timeout_seconds);
}

}  // namespace rt::test
