// Test harness: which database the integration tests' servers run on (REPOTOKENS_TEST_BACKEND=sqlite, the
// default, or postgresql), the one throwaway PostgreSQL cluster a test process shares in the latter case, and
// backend-neutral read-only inspection of what a server stored (rows, row counts, the bytes kept on disk).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace rt::test {

class PostgresServer;

enum class Backend { sqlite, postgresql };

// From REPOTOKENS_TEST_BACKEND ("" or "sqlite", "postgresql"); any other value aborts the test program
// with a message saying which values are valid.
Backend test_backend();
const char* backend_name(Backend backend);

// The PostgreSQL cluster of this test process: started on first use (which must be on the main thread, since
// the cluster is tied to the thread that starts it and dies with it), stopped when the tests end or the
// process exits, and killed with the process if it dies. In PostgreSQL mode, when the binaries are missing,
// the program prints the reason and exits with kSkippedExitStatus before running any test (ctest's
// SKIP_RETURN_CODE reports it skipped), never passing.
PostgresServer& shared_postgres();
inline constexpr int kSkippedExitStatus = 77;

// In a TEST body or SetUp: skip, visibly and with the reason, unless the servers run on SQLite.
#define RT_SKIP_ON_POSTGRESQL(why)                                                                   \
  do {                                                                                               \
    if (::rt::test::test_backend() == ::rt::test::Backend::postgresql)                               \
      GTEST_SKIP() << "not on PostgreSQL: " << why;                                                  \
  } while (0)

// The SQLite file behind an "sqlite:PATH" URL.
std::filesystem::path sqlite_path(const std::string& db_url);

// Runs a read-only query on the database behind `db_url` ("sqlite:PATH" through a read-only connection,
// safe while the server runs; "postgresql://..." on the shared cluster) and returns every row's columns as
// text (NULL as ""). Fails the test (ADD_FAILURE) and returns nothing when the query fails.
std::vector<std::vector<std::string>> query_rows(const std::string& db_url, const std::string& sql);
// Runs one writing statement on that database while its server runs (SQLite through a read-write
// connection that waits for the server's locks; PostgreSQL through psql). For what the API cannot set,
// such as a repository's remoteIdentifier (a provider's id that repotokensd does not learn by itself).
// Fails the test when the statement fails.
void execute_sql(const std::string& db_url, const std::string& sql);
// Row counts of every table of that database.
std::map<std::string, std::int64_t> table_counts(const std::string& db_url);
// Every byte the database keeps on disk: the SQLite file with its -wal, -shm and -journal; on PostgreSQL
// every file of the shared cluster's data folder (tables, indexes and WAL of all its databases).
std::string stored_bytes(const std::string& db_url);

}  // namespace rt::test
