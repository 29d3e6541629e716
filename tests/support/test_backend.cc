// The integration tests' database backend: the choice from the environment, the shared throwaway PostgreSQL
// cluster (with a global test environment that skips every test when PostgreSQL is asked for but missing,
// and stops the cluster when the tests end), and read-only inspection that works on both backends.
#include "support/test_backend.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "support/pg_redis.h"
#include "support/server_process.h"

namespace rt::test {
namespace fs = std::filesystem;
namespace {

constexpr const char* kBackendVariable = "REPOTOKENS_TEST_BACKEND";

std::unique_ptr<PostgresServer>& cluster_slot() {
  static std::unique_ptr<PostgresServer> cluster;  // destroyed (stopped) at exit at the latest
  return cluster;
}

// Skips every test of the program, with the reason, when the PostgreSQL run cannot run here (through the
// exit status: GoogleTest 1.12 reports tests skipped by a global environment as passed); stops the shared
// cluster once the tests are over.
class BackendEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    if (test_backend() != Backend::postgresql) return;
    if (auto why = postgres_unavailable_reason(); !why.empty()) {
      std::printf("[  SKIPPED ] every test: the PostgreSQL run of the integration tests cannot run here: %s\n",
                  why.c_str());
      std::fflush(stdout);
      std::exit(kSkippedExitStatus);
    }
  }
  void TearDown() override { cluster_slot().reset(); }
};

[[maybe_unused]] const ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new BackendEnvironment);

bool is_postgres_url(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

// The database name of a URL on the shared cluster, or "" (with a test failure) when it is on another one.
std::string shared_database_name(const std::string& db_url) {
  PostgresServer& cluster = shared_postgres();
  std::string name = db_url.substr(db_url.rfind('/') + 1);
  if (cluster.url(name) != db_url) {
    ADD_FAILURE() << db_url << " is not a database of this test process's PostgreSQL cluster (" << cluster.url("")
                  << ")";
    return {};
  }
  return name;
}

std::vector<std::vector<std::string>> sqlite_rows(const std::string& db_url, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  const std::string path = sqlite_path(db_url).string();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << " read-only: " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return rows;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    ADD_FAILURE() << "cannot prepare " << sql << ": " << sqlite3_errmsg(db);
  while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
    auto& row = rows.emplace_back();
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const unsigned char* text = sqlite3_column_text(stmt, i);
      row.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

// Through psql, as one JSON array of rows (each an array of the columns in order, so that columns of the
// same name stay apart), which no value can break the way a separator character could.
std::vector<std::vector<std::string>> postgres_rows(const std::string& db_url, const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  std::string database = shared_database_name(db_url);
  if (database.empty()) return rows;
  const std::string wrapped =
      "SELECT coalesce(json_agg((SELECT json_agg(e.value ORDER BY e.n) FROM json_each(row_to_json(q)) "
      "WITH ORDINALITY AS e(key, value, n))), '[]') FROM (" + sql + ") q";
  std::string out;
  try {
    out = shared_postgres().psql(wrapped, database);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return rows;
  }
  auto parsed = nlohmann::json::parse(out, nullptr, false);
  if (!parsed.is_array()) {
    ADD_FAILURE() << "psql answered something other than a JSON array to " << sql << ": " << out;
    return rows;
  }
  for (const auto& columns : parsed) {
    auto& row = rows.emplace_back();
    for (const auto& v : columns) row.push_back(v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump());
  }
  return rows;
}

}  // namespace

Backend test_backend() {
  static const Backend chosen = [] {
    const char* value = std::getenv(kBackendVariable);
    std::string_view text = value ? value : "";
    if (text.empty() || text == "sqlite") return Backend::sqlite;
    if (text == "postgresql") return Backend::postgresql;
    std::fprintf(stderr, "%s=%s is not a backend: expected sqlite (the default) or postgresql\n", kBackendVariable,
                 value);
    std::exit(2);
  }();
  return chosen;
}

const char* backend_name(Backend backend) { return backend == Backend::sqlite ? "sqlite" : "postgresql"; }

PostgresServer& shared_postgres() {
  auto& cluster = cluster_slot();
  if (!cluster) {
    // The cluster gets SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG is per thread).
    if (::gettid() != ::getpid())
      throw std::runtime_error("the shared PostgreSQL cluster must first be used on the main thread");
    cluster = std::make_unique<PostgresServer>();
  }
  return *cluster;
}

std::filesystem::path sqlite_path(const std::string& db_url) {
  const std::string prefix = "sqlite:";
  return db_url.rfind(prefix, 0) == 0 ? fs::path(db_url.substr(prefix.size())) : fs::path(db_url);
}

std::vector<std::vector<std::string>> query_rows(const std::string& db_url, const std::string& sql) {
  return is_postgres_url(db_url) ? postgres_rows(db_url, sql) : sqlite_rows(db_url, sql);
}

void execute_sql(const std::string& db_url, const std::string& sql) {
  if (is_postgres_url(db_url)) {
    const std::string database = shared_database_name(db_url);
    if (database.empty()) return;
    try {
      shared_postgres().psql(sql, database);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
    return;
  }
  const std::string path = sqlite_path(db_url).string();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db);
    sqlite3_close(db);
    return;
  }
  sqlite3_busy_timeout(db, 10000);
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK)
    ADD_FAILURE() << "cannot run " << sql << ": " << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

std::map<std::string, std::int64_t> table_counts(const std::string& db_url) {
  const char* list_tables =
      is_postgres_url(db_url)
          ? "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"
          : "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
  std::string count_all;
  for (const auto& table : query_rows(db_url, list_tables)) {
    if (!count_all.empty()) count_all += " UNION ALL ";
    count_all += "SELECT '" + table[0] + "', count(*) FROM \"" + table[0] + "\"";
  }
  std::map<std::string, std::int64_t> counts;
  if (count_all.empty()) return counts;
  for (const auto& row : query_rows(db_url, count_all)) counts[row[0]] = std::stoll(row[1]);
  return counts;
}

std::string stored_bytes(const std::string& db_url) {
  std::string bytes;
  if (!is_postgres_url(db_url)) {
    const std::string path = sqlite_path(db_url).string();
    for (auto suffix : {"", "-wal", "-shm", "-journal"}) bytes += file_bytes(path + suffix);
    return bytes;
  }
  if (shared_database_name(db_url).empty()) return bytes;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(shared_postgres().data_dir(), ec))
    if (entry.is_regular_file(ec)) bytes += file_bytes(entry.path());
  return bytes;
}

}  // namespace rt::test
