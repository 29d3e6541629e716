// Test harness: starts a real repotokensd on a loopback port chosen at run time, in its own temporary
// folder, on the backend the test run asks for (support/test_backend.h), and stops it (SIGTERM, then SIGKILL
// after a grace period) when the object goes away.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace rt::test {

// A fresh temporary folder, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct ServerOptions {
  // Empty: a fresh database on the run's backend, i.e. sqlite:<dir>/repotokens.db, or with
  // REPOTOKENS_TEST_BACKEND=postgresql a new database on the shared cluster and a generated key file.
  std::string db_url;
  std::vector<std::string> extra_args;  // appended to `repotokensd serve ...`
  std::vector<std::string> env;       // "NAME=value" added to the environment
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The bytes of a file ("" when missing).
std::string file_bytes(const std::filesystem::path& p);

// Runs a program to completion with the given arguments and optional standard input, capturing output.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& stdin_text = {},
                          const std::vector<std::string>& env = {}, int timeout_seconds = 120);

// A fresh random 64-hex-character key in `dir`/secret.key, mode 0600, as an operator gives every node of a
// PostgreSQL deployment with --secret-file. Returns its path.
std::filesystem::path write_secret_file(const std::filesystem::path& dir);

// The repotokensd that ServerProcess starts: this build's, or the one REPOTOKENS_TEST_SERVER_BIN names (to
// show that a new test fails on an older build: REPOTOKENS_TEST_SERVER_BIN=/path/to/old/repotokensd).
std::string repotokensd_under_test();

class ServerProcess {
 public:
  // Starts `repotokensd serve --db URL [--secret-file K] --listen 127.0.0.1:0 --port-file F [extra]` and
  // waits until the port file appears and /api/v3/health answers. Fails the test (ADD_FAILURE + throws) when
  // it does not start. The process gets SIGKILL if the test process (precisely: the starting thread) dies.
  explicit ServerProcess(ServerOptions options = {});
  ~ServerProcess();  // stop()
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string base_url() const;  // "http://127.0.0.1:PORT"
  const std::string& db_url() const { return db_url_; }
  // The generated --secret-file on PostgreSQL; empty on SQLite, whose key sits beside the database.
  const std::filesystem::path& secret_file() const { return secret_file_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  pid_t pid() const { return pid_; }

  // `repotokensd admin create-user --db URL [--secret-file K] --name NAME [--instance-admin]`; returns the
  // printed token.
  std::string create_user_offline(const std::string& name, bool instance_admin);

  // SIGTERM and wait; returns the exit status (0 on a clean drain).
  int stop();
  void kill9();
  // Starts again on the same database and key (and the same port when it is free, else a new one).
  void restart();
  std::string log() const;  // what the server wrote to stderr so far

 private:
  void start();
  std::string try_start(int listen_port);  // "" on success, else why it failed
  std::vector<std::string> database_args() const;  // --db URL [--secret-file K]
  ServerOptions options_;
  TempDir dir_;
  std::string db_url_;
  std::filesystem::path secret_file_;
  pid_t pid_ = -1;
  int port_ = 0;
  int generation_ = 0;
};

}  // namespace rt::test
