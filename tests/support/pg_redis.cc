// Throwaway PostgreSQL and Redis servers for tests: temporary folders (PostgreSQL's on a tmpfs when there is
// one, copied from a data folder made by initdb once per build), loopback ports picked at run time, children
// that die with the test process (PR_SET_PDEATHSIG) and are stopped by the destructors.
#include "support/pg_redis.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

namespace rt::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

fs::path postgres_bin_dir() {
  const char* env = std::getenv("REPOTOKENS_PG_BIN");
  return env && *env ? fs::path(env) : fs::path("/usr/lib/postgresql/15/bin");
}

fs::path redis_binary() {
  const char* env = std::getenv("REPOTOKENS_REDIS_SERVER");
  return env && *env ? fs::path(env) : fs::path("/usr/bin/redis-server");
}

bool executable(const fs::path& p) { return ::access(p.c_str(), X_OK) == 0; }

// Who the PostgreSQL processes run as: ourselves, or the `postgres` system user when we are root.
struct Identity {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

std::optional<Identity> postgres_identity() {
  if (::geteuid() != 0) return Identity{};
  struct passwd* pw = ::getpwnam("postgres");
  if (!pw) return std::nullopt;
  return Identity{true, pw->pw_uid, pw->pw_gid};
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

fs::path make_temp_dir(const fs::path& parent, const std::string& prefix, const Identity& owner) {
  std::string tmpl = (parent / (prefix + "XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  if (owner.switch_user && ::chown(tmpl.c_str(), owner.uid, owner.gid) != 0)
    throw std::runtime_error("cannot give " + tmpl + " to the postgres user");
  return tmpl;
}

// Starts argv[0] with stdout to `out` and stderr to `err` (appending), as `who`, in `cwd`. The child gets
// SIGKILL if the test process dies, so a crashed test leaves no server behind.
pid_t spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err, const Identity& who,
            const fs::path& cwd) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int err_fd = out == err ? out_fd : ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_fd < 0 || err_fd < 0) throw std::runtime_error("cannot open " + out.string());
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    if (who.switch_user && (::setgroups(0, nullptr) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0))
      ::_exit(126);
    // After the user switch: a credential change clears the parent-death signal.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(125);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    if (::chdir(cwd.c_str()) != 0) ::_exit(124);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out_fd);
  if (err_fd != out_fd) ::close(err_fd);
  if (pid < 0) throw std::runtime_error("fork failed");
  return pid;
}

// Waits up to `timeout` for the child to exit; returns its wait status, or -1 when it is still running.
int wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return 0;  // not our child any more
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(10ms);
  }
}

// Sends `sig`, waits up to `grace`, then SIGKILL.
void terminate(pid_t pid, int sig, std::chrono::milliseconds grace) {
  ::kill(pid, sig);
  if (wait_for_exit(pid, grace) == -1) {
    ::kill(pid, SIGKILL);
    wait_for_exit(pid, 10s);
  }
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a program to completion as `who`; returns its exit code (or -1) and its stdout in `out_text`.
int run(const std::vector<std::string>& args, const fs::path& dir, const Identity& who, std::string* out_text,
        std::chrono::seconds timeout = 120s) {
  static std::atomic<int> counter{0};
  fs::path out = dir / ("run-" + std::to_string(counter++) + ".out");
  pid_t pid = spawn(args, out, dir / "commands.log", who, dir);
  int status = wait_for_exit(pid, timeout);
  if (status == -1) {
    terminate(pid, SIGKILL, 1s);
    status = 0x7f00;
  }
  if (out_text) *out_text = read_file(out);
  std::error_code ec;
  fs::remove(out, ec);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// postmaster.pid's eighth line is the server's state; "ready" once it accepts connections.
bool postmaster_ready(const fs::path& pid_file) {
  std::ifstream in(pid_file);
  std::string line;
  for (int i = 0; i < 8 && std::getline(in, line); ++i)
    if (i == 7) return line.rfind("ready", 0) == 0;
  return false;
}

bool redis_answers_ping(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{0, 200'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6) {
    char buf[16] = {};
    ok = ::recv(fd, buf, sizeof buf - 1, 0) > 0 && std::string(buf).rfind("+PONG", 0) == 0;
  }
  ::close(fd);
  return ok;
}

constexpr const char* kClusterPrefix = "rt-pg-";

// Where clusters live: $REPOTOKENS_PG_TMPDIR, else /dev/shm when it is a tmpfs with room to spare, else the
// temporary folder. On a disk, a cluster spends most of its set-up and every commit waiting for fsync, which
// makes the PostgreSQL integration run several times slower and proves nothing more: the server still runs
// with fsync=on, as in production, and survives its own restarts either way.
fs::path cluster_parent() {
  if (const char* env = std::getenv("REPOTOKENS_PG_TMPDIR"); env && *env) return env;
  struct statfs st {};
  constexpr unsigned long long kRoom = 1ull << 30;
  if (::statfs("/dev/shm", &st) == 0 && st.f_type == 0x01021994 /* TMPFS_MAGIC */ &&
      static_cast<unsigned long long>(st.f_bavail) * st.f_bsize >= kRoom && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return fs::temp_directory_path();
}

// Removes the folders of clusters whose test process is gone (it was killed, so no destructor ran; its
// postgres died with it). Each folder is named rt-pg-<pid of the test process>-XXXXXX.
void remove_orphaned_clusters(const fs::path& parent) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string name = entry.path().filename().string();
    const std::string_view prefix = kClusterPrefix;
    if (!name.starts_with(prefix)) continue;
    size_t digits = name.find_first_not_of("0123456789", prefix.size());
    if (digits == prefix.size() || digits == std::string::npos || name[digits] != '-') continue;  // not ours
    pid_t owner = static_cast<pid_t>(std::stol(name.substr(prefix.size(), digits - prefix.size())));
    if (owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

std::vector<std::string> initdb_command(const fs::path& data) {
  // --no-sync only for initdb's own files: the server itself runs with fsync=on, as in production.
  return {(postgres_bin_dir() / "initdb").string(), "-D", data.string(), "-U", "postgres", "--auth=trust",
          "--no-sync", "--encoding=UTF8", "--locale=C"};
}

// A data folder made by initdb once per build (and PostgreSQL version) and copied for each cluster, since
// initdb costs seconds and every test process starts a cluster. Empty when there is no template folder or
// it cannot be made; the caller then runs initdb itself. `scratch` takes initdb's output.
fs::path template_data(const Identity& who, const fs::path& scratch) {
#ifdef REPOTOKENS_PG_TEMPLATE_DIR
  std::string version;
  if (run({(postgres_bin_dir() / "initdb").string(), "--version"}, scratch, who, &version) != 0) return {};
  std::string options;
  for (const auto& arg : initdb_command("")) options += arg + ' ';
  std::string key;  // e.g. "initdbPostgreSQL15.5-<hash of the options>"
  for (char c : version)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.') key += c;
  key += "-" + std::to_string(std::hash<std::string>{}(options));
  const fs::path root = REPOTOKENS_PG_TEMPLATE_DIR;
  const fs::path ready = root / key / "data";
  std::error_code ec;
  if (fs::exists(ready / "PG_VERSION", ec)) return ready;
  fs::create_directories(root, ec);
  if (who.switch_user && ::chown(root.c_str(), who.uid, who.gid) != 0) return {};
  int lock = ::open((root / ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock < 0) return {};
  ::flock(lock, LOCK_EX);  // another test process may be making it right now
  if (!fs::exists(ready / "PG_VERSION", ec)) {
    fs::path building = root / ("building-" + std::to_string(::getpid()));
    fs::remove_all(building, ec);
    fs::create_directory(building, ec);
    bool owned = !who.switch_user || ::chown(building.c_str(), who.uid, who.gid) == 0;
    if (owned && run(initdb_command(building / "data"), scratch, who, nullptr) == 0)
      fs::rename(building, ready.parent_path(), ec);
    fs::remove_all(building, ec);
  }
  ::close(lock);
  return fs::exists(ready / "PG_VERSION", ec) ? ready : fs::path();
#else
  (void)who, (void)scratch;
  return {};
#endif
}

}  // namespace

std::string postgres_unavailable_reason() {
  fs::path bin = postgres_bin_dir();
  for (const char* tool : {"initdb", "postgres", "psql"})
    if (!executable(bin / tool))
      return "PostgreSQL 15 is not installed (" + (bin / tool).string() +
             " missing; scripts/install-deps installs postgresql-15)";
  if (!postgres_identity())
    return "running as root but there is no `postgres` system user to run initdb/postgres as";
  return {};
}

std::string redis_unavailable_reason() {
  if (!executable(redis_binary()))
    return "Redis is not installed (" + redis_binary().string() + " missing; scripts/install-deps installs redis-server)";
  return {};
}

// --- PostgreSQL -------------------------------------------------------------------------------------

PostgresServer::PostgresServer() {
  if (auto why = postgres_unavailable_reason(); !why.empty()) throw std::runtime_error(why);
  Identity who = *postgres_identity();
  const fs::path parent = cluster_parent();
  remove_orphaned_clusters(parent);
  dir_ = make_temp_dir(parent, kClusterPrefix + std::to_string(::getpid()) + "-", who);
  int rc = -1;
  if (fs::path from = template_data(who, dir_); !from.empty())
    rc = run({"/bin/cp", "-a", from.string(), (dir_ / "data").string()}, dir_, who, nullptr);
  if (rc != 0) {
    std::error_code ec;
    fs::remove_all(dir_ / "data", ec);
    rc = run(initdb_command(dir_ / "data"), dir_, who, nullptr);
  }
  if (rc != 0) {
    std::string log = read_file(dir_ / "commands.log");
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw std::runtime_error("initdb failed (exit " + std::to_string(rc) + "):\n" + log);
  }
  port_ = free_loopback_port();
  launch();
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PostgresServer::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

void PostgresServer::launch() {
  Identity who = *postgres_identity();
  pid_ = spawn({(postgres_bin_dir() / "postgres").string(), "-D", (dir_ / "data").string(), "-k", dir_.string(),
                "-c", "listen_addresses=127.0.0.1", "-p", std::to_string(port_), "-c", "fsync=on", "-c",
                "max_connections=300"},
               dir_ / "postgres.log", dir_ / "postgres.log", who, dir_);
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!postmaster_ready(dir_ / "data" / "postmaster.pid")) {
    if (wait_for_exit(pid_, 0ms) != -1) {
      pid_ = -1;
      throw std::runtime_error("postgres exited during startup on port " + std::to_string(port_) + ":\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("postgres did not become ready within 60 s:\n" + log());
    }
    std::this_thread::sleep_for(20ms);
  }
}

void PostgresServer::stop() {
  if (pid_ <= 0) return;
  terminate(pid_, SIGINT, 20s);  // fast shutdown: aborts open transactions, closes client connections
  pid_ = -1;
}

void PostgresServer::start() {
  if (pid_ > 0) return;
  launch();
}

std::string PostgresServer::log() const { return read_file(dir_ / "postgres.log"); }

std::string PostgresServer::psql(const std::string& sql, const std::string& database) {
  std::string out;
  int rc = run({(postgres_bin_dir() / "psql").string(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres", "-d", database, "-c", sql},
               dir_, Identity{}, &out, 60s);
  if (rc != 0)
    throw std::runtime_error("psql failed (exit " + std::to_string(rc) + ") on: " + sql + "\n" +
                             read_file(dir_ / "commands.log"));
  return out;
}

std::string PostgresServer::create_database() {
  std::string name = "rt_" + std::to_string(++next_database_);
  psql("CREATE DATABASE " + name);
  return url(name);
}

// --- Redis --------------------------------------------------------------------------------------------

RedisServer::RedisServer() {
  if (auto why = redis_unavailable_reason(); !why.empty()) throw std::runtime_error(why);
  dir_ = make_temp_dir(fs::temp_directory_path(), "rt-redis-", Identity{});
  port_ = free_loopback_port();
  launch();
}

RedisServer::~RedisServer() {
  stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string RedisServer::url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

void RedisServer::launch() {
  pid_ = spawn({redis_binary().string(), "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", dir_.string(), "--daemonize", "no"},
               dir_ / "redis.log", dir_ / "redis.log", Identity{}, dir_);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!redis_answers_ping(port_)) {
    if (wait_for_exit(pid_, 0ms) != -1) {
      pid_ = -1;
      throw std::runtime_error("redis-server exited during startup on port " + std::to_string(port_) + ":\n" +
                               log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("redis-server did not answer PING within 20 s:\n" + log());
    }
    std::this_thread::sleep_for(10ms);
  }
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  terminate(pid_, SIGTERM, 10s);
  pid_ = -1;
}

void RedisServer::start() {
  if (pid_ > 0) return;
  launch();
}

std::string RedisServer::log() const { return read_file(dir_ / "redis.log"); }

}  // namespace rt::test
