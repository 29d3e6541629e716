// The CLI as a person sees it in a terminal emulator: `repotokens provision` runs in a tmux pane and the
// test reads the rendered screen (tmux capture-pane), not the raw bytes: during a server outage the
// progress bar says the server is unreachable and when the next retry comes, and the run ends with its
// summary. Skipped (visibly) without tmux.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "support/cli_fixture.h"

namespace rt::test {
namespace {

// tmux from PATH ("" when there is none); the harness execs without a PATH search.
std::string tmux_path() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    auto candidate = std::filesystem::path(dirs.substr(start, end - start)) / "tmux";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return {};
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A private tmux server (its own socket in `dir`) with one 160x40 pane running `argv` under `env`; the
// pane stays after the command ends and shows "EXIT=<status>".
class TmuxPane {
 public:
  TmuxPane(const std::filesystem::path& dir, const std::vector<std::string>& argv, const std::vector<std::string>& env)
      : socket_((dir / "tmux.sock").string()) {
    std::string command = "env";
    for (const auto& e : env) command += " " + shell_quote(e);
    for (const auto& a : argv) command += " " + shell_quote(a);
    command += "; echo EXIT=$?; sleep 600";
    auto r = run_command({tmux_path(), "-S", socket_, "-f", "/dev/null", "new-session", "-d", "-s", "rt", "-x", "160", "-y",
                          "40", command});
    started_ = r.exit_code == 0;
    if (!started_) ADD_FAILURE() << "tmux new-session failed: " << r.err;
  }
  ~TmuxPane() { run_command({tmux_path(), "-S", socket_, "kill-server"}); }

  std::string screen() const { return run_command({tmux_path(), "-S", socket_, "capture-pane", "-p", "-t", "rt"}).out; }

  // Polls the screen until `part` shows (true) or `seconds` pass (false).
  bool wait_for(const std::string& part, double seconds, std::string* last = nullptr) const {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    std::string s;
    do {
      s = screen();
      if (s.find(part) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < end);
    if (last) *last = s;
    return s.find(part) != std::string::npos;
  }
  bool started() const { return started_; }

 private:
  std::string socket_;
  bool started_ = false;
};

bool have_tmux() { return !tmux_path().empty(); }

}  // namespace

TEST(CliTmux, TheProgressBarSaysTheServerIsUnreachableDuringAnOutage) {
  if (!have_tmux()) GTEST_SKIP() << "tmux is not installed (scripts/install-deps installs it)";
  ServerOptions options;
  options.extra_args = {"--rate-limit-per-token", "0"};
  CliWorld w(1000, options);
  auto out = w.server->dir() / "tokens.csv";
  TmuxPane pane(w.server->dir(), w.cli_args({"provision", "--yes", "-o", out.string(), "--retries", "12"}), w.cli_env());
  ASSERT_TRUE(pane.started());
  std::string screen;
  ASSERT_TRUE(pane.wait_for("provision [", 30, &screen)) << screen;  // the bar is drawn
  w.server->kill9();
  EXPECT_TRUE(pane.wait_for("server unreachable, retry", 8, &screen)) << screen;
  EXPECT_NE(screen.find("(connection refused)"), std::string::npos) << screen;
  w.server->restart();
  ASSERT_TRUE(pane.wait_for("EXIT=", 120, &screen)) << screen;
  EXPECT_TRUE(screen.find("EXIT=0") != std::string::npos || screen.find("EXIT=1") != std::string::npos) << screen;
  EXPECT_NE(screen.find("unreachable"), std::string::npos) << "the summary counts the retries by cause: " << screen;
  EXPECT_EQ(screen.find("rtkr_"), std::string::npos) << "no secret on the terminal: " << screen;
}

}  // namespace rt::test
