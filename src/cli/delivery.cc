// Secret delivery: rendering, reading back and merging an earlier output, the atomic 0600 file write, and
// the --exec child process.
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
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
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

Status write_file_atomically(const std::string& path, const std::string& content, const std::string& temp_path) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string temp = temp_path.empty() ? (dir / ("." + target.filename().string() + ".XXXXXX")).string() : temp_path;
  int fd = temp_path.empty() ? ::mkstemp(temp.data())  // mode 0600, O_EXCL
                             : ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
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

std::string output_temp_path(const std::string& output) {
  std::filesystem::path target(output);
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  return (dir / ("." + target.filename().string() + ".tmp")).string();
}

Status check_output_writable(const std::string& output) {
  std::filesystem::path target(output);
  if (output.empty() || output.back() == '/' || target.filename().empty())
    return make_error(ErrorKind::invalid, "--output: '" + output + "' names a folder; give a file name");
  std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(ErrorKind::invalid, "--output: the folder " + dir.string() + " does not exist; create it first");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return make_error(ErrorKind::invalid, "--output: cannot write in " + dir.string() + ": " + std::strerror(errno));
  if (::stat(output.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return make_error(ErrorKind::invalid, "--output: " + output + " is a folder; give a file name");
  return ok_status();
}

namespace {

// Splits one CSV line into fields (RFC 4180 quoting); nullopt when the quoting is broken.
std::optional<std::vector<std::string>> csv_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else fields.back() += c;
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) return std::nullopt;
  return fields;
}

bool plausible_secret(const std::string& s) {
  if (s.empty() || s.size() > 512) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > ' ' && c < 127 && c != ',' && c != '"'; });
}

}  // namespace

Result<SecretsFile> SecretsFile::read(const std::string& path, OutputFormat format, bool force) {
  SecretsFile file(format);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return file;
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorKind::invalid, "--output: cannot read the existing " + path + ": " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const char* name = format == OutputFormat::csv ? "csv" : format == OutputFormat::json ? "json" : "env";
  auto refuse = [&](const std::string& why) -> Result<SecretsFile> {
    if (force) return SecretsFile(format);
    return make_error(ErrorKind::conflict, "--output: " + path + " exists and is not a " + name +
                                               " output of repotokens (" + why +
                                               "); it was left as it is. Choose another file, or pass --force to "
                                               "replace it");
  };
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return file;
  if (format == OutputFormat::json) {
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_array()) return refuse("not a JSON array");
    for (std::size_t i = 0; i < doc.size(); ++i) {
      const auto& item = doc[i];
      if (!item.is_object() || !item.contains("repository") || !item["repository"].is_string() ||
          !item.contains("token") || !item["token"].is_string())
        return refuse("item " + std::to_string(i) + " has no repository and token");
      std::string key = item.value("provider", "") + "/" + item.value("organization", "") + "/" +
                        item["repository"].get<std::string>();
      file.rows_.emplace_back(key, item.dump());
    }
    return file;
  }
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(number);
    if (format == OutputFormat::csv) {
      auto fields = csv_fields(line);
      if (!fields || fields->size() != 2 || (*fields)[0].empty() || !plausible_secret((*fields)[1]))
        return refuse(where + " is not 'repository,token'");
      file.rows_.emplace_back((*fields)[0], line + "\n");
    } else {
      auto eq = line.find('=');
      bool name_ok = eq != std::string::npos && line.starts_with("REPOTOKEN_") && eq > 10 &&
                     std::all_of(line.begin(), line.begin() + static_cast<long>(eq), [](unsigned char c) {
                       return std::isupper(c) || std::isdigit(c) || c == '_';
                     });
      if (!name_ok || !plausible_secret(line.substr(eq + 1))) return refuse(where + " is not 'REPOTOKEN_<REPO>=token'");
      file.rows_.emplace_back(line.substr(0, eq), line + "\n");
    }
  }
  return file;
}

std::string SecretsFile::key_of(const DeliveredSecret& s) const {
  if (format_ == OutputFormat::csv) return s.repo;
  if (format_ == OutputFormat::env) return env_name(s.repo);
  return s.provider + "/" + s.org + "/" + s.repo;
}

std::string SecretsFile::row_of(const DeliveredSecret& s) const {
  if (format_ != OutputFormat::json) return render_secrets({s}, format_);
  auto list = nlohmann::json::parse(render_secrets({s}, format_));
  return list.at(0).dump();
}

void SecretsFile::merge(const std::vector<DeliveredSecret>& secrets) {
  for (const auto& s : secrets) {
    std::string key = key_of(s), row = row_of(s);
    auto it = std::find_if(rows_.begin(), rows_.end(), [&](const auto& r) { return r.first == key; });
    if (it != rows_.end()) it->second = std::move(row);
    else rows_.emplace_back(std::move(key), std::move(row));
  }
}

bool SecretsFile::has(const DeliveredSecret& secret) const {
  std::string key = key_of(secret);
  return std::any_of(rows_.begin(), rows_.end(), [&](const auto& r) { return r.first == key; });
}

std::string SecretsFile::render() const {
  std::string out;
  if (format_ == OutputFormat::json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [key, row] : rows_) list.push_back(nlohmann::json::parse(row));
    return list.dump(2) + "\n";
  }
  for (const auto& [key, row] : rows_) out += row;
  return out;
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
