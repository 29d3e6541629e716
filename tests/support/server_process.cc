// Test harness: temporary folders, running a program with captured output and a deadline, and the
// lifecycle of a real repotokensd process (its database on the run's backend, start on port 0, wait for
// the port file and health, stop).
#include "support/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "core/secret.h"
#include "support/http_client.h"
#include "support/pg_redis.h"
#include "support/test_backend.h"

extern char** environ;

namespace rt::test {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/repotokens-test-XXXXXX";
  if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

// argv/envp arrays for execve, built before fork (no allocation in the child).
struct ExecSpec {
  std::vector<std::string> args, envs;
  std::vector<char*> argv, envp;
  ExecSpec(const std::vector<std::string>& a, const std::vector<std::string>& extra_env) : args(a) {
    for (char** e = environ; *e; ++e) envs.emplace_back(*e);
    for (const auto& e : extra_env) envs.push_back(e);
    // Drop earlier entries of the same name, so the caller's value replaces the inherited one.
    std::vector<std::string> merged;
    for (const auto& e : envs) {
      std::string name = e.substr(0, e.find('='));
      std::erase_if(merged, [&](const std::string& m) { return m.substr(0, m.find('=')) == name; });
      merged.push_back(e);
    }
    envs = std::move(merged);
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : envs) envp.push_back(s.data());
    envp.push_back(nullptr);
  }
};

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for `pid` up to `timeout`; returns the decoded status, or nullopt when it is still running.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return decode_status(status);
    if (r < 0) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

fs::path write_secret_file(const fs::path& dir) {
  SystemRandom random;
  fs::path path = dir / "secret.key";
  std::ofstream(path) << format_secret_key(generate_secret_key(random)) << "\n";
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  return path;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult run_command(const std::vector<std::string>& argv, const std::string& stdin_text,
                          const std::vector<std::string>& env, int timeout_seconds) {
  CommandResult result;
  ExecSpec spec(argv, env);
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    result.err = "pipe failed";
    return result;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(spec.argv[0], spec.argv.data(), spec.envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    close(in[1]), close(out[0]), close(err[0]);
    result.err = "fork failed";
    return result;
  }
  set_nonblocking(in[1]);
  set_nonblocking(out[0]);
  set_nonblocking(err[0]);
  signal(SIGPIPE, SIG_IGN);  // a child that exits without reading stdin must not kill the test

  size_t written = 0;
  int in_fd = in[1];
  if (stdin_text.empty()) close(in_fd), in_fd = -1;
  int out_fd = out[0], err_fd = err[0];
  auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  bool timed_out = false;
  while (out_fd >= 0 || err_fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (poll(fds, n, static_cast<int>(std::min<long long>(left, 1000))) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      int fd = fds[i].fd;
      if (fd == in_fd) {
        ssize_t w = write(fd, stdin_text.data() + written, stdin_text.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) written = stdin_text.size();
        if (written >= stdin_text.size()) close(in_fd), in_fd = -1;
        continue;
      }
      char buf[65536];
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        (fd == out_fd ? result.out : result.err).append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EAGAIN) {
        close(fd);
        (fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  if (timed_out) {
    kill(pid, SIGKILL);
    wait_for(pid, std::chrono::seconds(10));
    result.exit_code = -1;
    result.err += "\n[run_command: killed after " + std::to_string(timeout_seconds) + " s]";
    return result;
  }
  auto code = wait_for(pid, std::chrono::seconds(timeout_seconds));
  if (!code) {
    kill(pid, SIGKILL);
    wait_for(pid, std::chrono::seconds(10));
    result.exit_code = -1;
    return result;
  }
  result.exit_code = *code;
  return result;
}

ServerProcess::ServerProcess(ServerOptions options) : options_(std::move(options)) {
  if (!options_.db_url.empty()) {
    db_url_ = options_.db_url;
  } else if (test_backend() == Backend::postgresql) {
    db_url_ = shared_postgres().create_database();
    secret_file_ = write_secret_file(dir_.path());
  } else {
    db_url_ = "sqlite:" + (dir_.path() / "repotokens.db").string();
  }
  start();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop();
}

std::string ServerProcess::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

std::string ServerProcess::log() const { return file_bytes(dir_.path() / "server.log"); }

std::vector<std::string> ServerProcess::database_args() const {
  std::vector<std::string> args = {"--db", db_url_};
  if (!secret_file_.empty()) args.insert(args.end(), {"--secret-file", secret_file_.string()});
  return args;
}

std::string repotokensd_under_test() {
  const char* other = std::getenv("REPOTOKENS_TEST_SERVER_BIN");
  return other && *other ? std::string(other) : std::string(REPOTOKENSD_BIN);
}

// One attempt to start on `listen_port` (0 = any). Returns an empty string on success, else why not.
std::string ServerProcess::try_start(int listen_port) {
  ++generation_;
  fs::path port_file = dir_.path() / ("port." + std::to_string(generation_));
  std::vector<std::string> args = {repotokensd_under_test(), "serve"};
  for (auto& a : database_args()) args.push_back(std::move(a));
  args.insert(args.end(), {"--listen", "127.0.0.1:" + std::to_string(listen_port), "--port-file", port_file.string()});
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  ExecSpec spec(args, options_.env);
  std::string log_path = (dir_.path() / "server.log").string();
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return "cannot open " + log_path;
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // a crashed or killed test leaves no server behind
    if (getppid() != parent) _exit(125);
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(log_fd, 2);
    execve(spec.argv[0], spec.argv.data(), spec.envp.data());
    _exit(127);
  }
  close(log_fd);
  close(null_fd);
  if (pid < 0) return "fork failed";
  pid_ = pid;

  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (Clock::now() < deadline) {
    if (auto code = wait_for(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      return "repotokensd exited with status " + std::to_string(*code) + " during start-up";
    }
    std::error_code ec;
    if (fs::exists(port_file, ec)) {  // written atomically, so a complete line means a complete number
      std::string text = file_bytes(port_file);
      if (!text.empty() && text.back() == '\n') {
        port_ = std::atoi(text.c_str());
        HttpClient http(base_url());
        if (http.get("/api/v3/health").status == 200) return {};
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  wait_for(pid_, std::chrono::seconds(10));
  pid_ = -1;
  return "repotokensd did not become healthy within 15 s";
}

void ServerProcess::start() {
  std::string why = try_start(port_);
  if (!why.empty() && port_ != 0) why = try_start(0);  // the old port may be taken by now
  if (!why.empty()) {
    ADD_FAILURE() << why << "\n--- server log ---\n" << log();
    throw std::runtime_error(why);
  }
}

void ServerProcess::restart() {
  if (pid_ > 0) stop();
  start();
}

int ServerProcess::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto code = wait_for(pid_, std::chrono::seconds(15));
  if (!code) {
    ADD_FAILURE() << "repotokensd did not exit within 15 s of SIGTERM; killing it";
    kill(pid_, SIGKILL);
    code = wait_for(pid_, std::chrono::seconds(10));
  }
  pid_ = -1;
  return code.value_or(-1);
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  wait_for(pid_, std::chrono::seconds(10));
  pid_ = -1;
}

std::string ServerProcess::create_user_offline(const std::string& name, bool instance_admin) {
  std::vector<std::string> args = {repotokensd_under_test(), "admin", "create-user"};
  for (auto& a : database_args()) args.push_back(std::move(a));
  args.insert(args.end(), {"--name", name});
  if (instance_admin) args.push_back("--instance-admin");
  CommandResult r = run_command(args, {}, options_.env, 60);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "admin create-user exited " << r.exit_code << ": " << r.err;
    throw std::runtime_error("admin create-user failed");
  }
  std::string token = r.out;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return token;
}

}  // namespace rt::test
