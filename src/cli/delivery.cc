// Secret delivery: rendering, the atomic 0600 file write, and the --exec child process.
#include "cli/delivery.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

extern char** environ;

namespace rt::cli {

Result<OutputFormat> parse_output_format(const std::string& text) {
  if (text == "csv") return OutputFormat::csv;
  if (text == "json") return OutputFormat::json;
  if (text == "env") return OutputFormat::env;
  return make_error(ErrorKind::invalid, "--format: '" + text + "' is not one of csv, json, env");
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string env_name(const std::string& repo) {
  std::string name = "REPOTOKEN_";
  for (char c : repo) name += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
  return name;
}

}  // namespace

std::string render_secrets(const std::vector<DeliveredSecret>& secrets, OutputFormat format) {
  std::string out;
  if (format == OutputFormat::json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : secrets) {
      nlohmann::json item{{"provider", s.provider}, {"organization", s.org}, {"repository", s.repo},
                          {"tokenId", s.token_id}, {"name", s.token_name}, {"token", s.secret}};
      if (s.expires_at) item["expiresAt"] = format_rfc3339(*s.expires_at);
      list.push_back(std::move(item));
    }
    return list.dump(2) + "\n";
  }
  for (const auto& s : secrets) {
    if (format == OutputFormat::csv) out += csv_field(s.repo) + "," + s.secret + "\n";
    else out += env_name(s.repo) + "=" + s.secret + "\n";  // tokens are [A-Za-z0-9_]: no quoting needed
  }
  return out;
}

Status write_file_atomically(const std::string& path, const std::string& content) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string temp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  int fd = ::mkstemp(temp.data());  // mode 0600, O_EXCL
  if (fd < 0) return make_error(ErrorKind::invalid, "--output: cannot create a file in " + dir.string() + ": " + std::strerror(errno));
  auto fail = [&](const char* what) {
    Error e = make_error(ErrorKind::internal, std::string("--output: cannot ") + what + " " + path + ": " + std::strerror(errno));
    ::close(fd);
    ::unlink(temp.c_str());
    return e;
  };
  if (::fchmod(fd, 0600) != 0) return fail("set the mode of");
  for (size_t off = 0; off < content.size();) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write");
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("sync");
  if (::close(fd) != 0) { fd = -1; ::unlink(temp.c_str()); return make_error(ErrorKind::internal, "--output: cannot close " + path); }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Error e = make_error(ErrorKind::internal, "--output: cannot rename onto " + path + ": " + std::strerror(errno));
    ::unlink(temp.c_str());
    return e;
  }
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return ok_status();
}

Status run_delivery_command(const std::string& command, const DeliveredSecret& secret, int timeout_seconds) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return make_error(ErrorKind::internal, "--exec: cannot create a pipe");
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e)
    if (!std::string_view(*e).starts_with("REPOTOKENS_")) env_text.emplace_back(*e);
  env_text.push_back("REPOTOKENS_PROVIDER=" + secret.provider);
  env_text.push_back("REPOTOKENS_ORG=" + secret.org);
  env_text.push_back("REPOTOKENS_REPO=" + secret.repo);
  env_text.push_back("REPOTOKENS_TOKEN_NAME=" + secret.token_name);
  env_text.push_back("REPOTOKENS_TOKEN_ID=" + std::to_string(secret.token_id));
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], 0);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);  // the child's chatter goes to stderr, never stdout
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[0]);
  if (rc != 0) {
    ::close(pipe_fds[1]);
    return make_error(ErrorKind::internal, std::string("--exec: cannot start /bin/sh: ") + std::strerror(rc));
  }
  // The command may exit without reading: ignore EPIPE for this write only.
  std::string payload = secret.secret + "\n";
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  (void)!::write(pipe_fds[1], payload.data(), payload.size());
  ::close(pipe_fds[1]);
  timespec zero{0, 0};
  while (sigtimedwait(&block, nullptr, &zero) > 0) {}  // discard a pending SIGPIPE
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return make_error(ErrorKind::internal, "--exec: lost the command's status");
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return make_error(ErrorKind::internal, "--exec: the command ran longer than " + std::to_string(timeout_seconds) + "s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok_status();
  if (WIFEXITED(status)) return make_error(ErrorKind::internal, "--exec: the command exited with status " + std::to_string(WEXITSTATUS(status)));
  return make_error(ErrorKind::internal, "--exec: the command was killed by signal " + std::to_string(WTERMSIG(status)));
}

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

}  // namespace rt::cli
