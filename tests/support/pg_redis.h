// Test harness: throwaway PostgreSQL 15 and Redis servers on loopback ports chosen at run time, in
// temporary folders, with no persistence that outlives them. Each is stopped on destruction (also when a
// test fails), and can be stopped and started again on the same port mid-test to simulate an outage.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace rt::test {

// Empty when the binaries exist and can run here; otherwise why not (for GTEST_SKIP).
std::string postgres_unavailable_reason();
std::string redis_unavailable_reason();

// In a TEST body or SetUp: skip the test, with the reason, when the server binaries are missing.
#define RT_REQUIRE_POSTGRES()                                                                   \
  do {                                                                                          \
    if (auto rt_why_ = ::rt::test::postgres_unavailable_reason(); !rt_why_.empty())             \
      GTEST_SKIP() << rt_why_;                                                                  \
  } while (0)
#define RT_REQUIRE_REDIS()                                                                      \
  do {                                                                                          \
    if (auto rt_why_ = ::rt::test::redis_unavailable_reason(); !rt_why_.empty())                \
      GTEST_SKIP() << rt_why_;                                                                  \
  } while (0)

// A PostgreSQL cluster made by initdb (or copied from the build's initdb template) in a temporary folder
// (under $REPOTOKENS_PG_TMPDIR, else /dev/shm when it is a tmpfs with at least 1 GiB free, else $TMPDIR),
// owned by the `postgres` system user when the tests run as root, since initdb and postgres refuse to run as
// root; trust authentication for the superuser `postgres`, listening on 127.0.0.1 only. Folders left by
// killed test processes are removed by the next cluster made there. The constructor throws std::runtime_error (with the
// server's log) when it cannot start; check postgres_unavailable_reason() first to skip instead.
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();  // stop(), then removes the folder
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // "postgresql://postgres@127.0.0.1:PORT/DB".
  std::string url(const std::string& database = "postgres") const;
  // CREATE DATABASE with a fresh name ("rt_<n>") and returns its URL; throws when it fails.
  std::string create_database();
  // Runs SQL through psql as the superuser on `database`; returns psql's stdout, throws on failure.
  std::string psql(const std::string& sql, const std::string& database = "postgres");

  // Fast shutdown (SIGINT: open connections are cut), waiting for the exit. No-op when stopped.
  void stop();
  // Starts the same cluster again on the same port and waits until it accepts connections.
  void start();
  bool running() const { return pid_ > 0; }
  std::string log() const;
  std::filesystem::path data_dir() const { return dir_ / "data"; }  // what the cluster keeps on disk

 private:
  void launch();
  std::filesystem::path dir_;   // owned by the server's user; holds data/, the socket and the log
  int port_ = 0;
  pid_t pid_ = -1;
  int next_database_ = 0;
};

// `redis-server --port PORT --bind 127.0.0.1 --save '' --appendonly no`: nothing written to disk.
class RedisServer {
 public:
  RedisServer();  // throws std::runtime_error when it cannot start
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url() const;  // "redis://127.0.0.1:PORT"
  void stop();   // SIGTERM and wait; its keys are gone (no persistence)
  void start();  // same port, empty, waits until it answers PING
  bool running() const { return pid_ > 0; }
  std::string log() const;

 private:
  void launch();
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace rt::test
