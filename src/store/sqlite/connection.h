// A thin, error-as-value wrapper over one sqlite3 connection: opening with the pragmas repotokens relies
// on (WAL, synchronous=FULL, foreign keys, busy timeout), a per-connection cache of prepared statements,
// and parameter binding. Values only ever reach SQLite as bound parameters, never as SQL text.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/result.h"
#include "core/secret.h"

struct sqlite3;
struct sqlite3_stmt;

namespace rt::sqlite {

// One bound parameter. Views are copied by SQLite at bind time (SQLITE_TRANSIENT), so a Value may refer
// to a temporary that lives until the end of the full expression that binds it.
class Value {
 public:
  using Blob = std::span<const std::uint8_t>;
  Value(std::nullopt_t) {}
  Value(std::int64_t v) : v_(v) {}
  Value(int v) : v_(std::int64_t{v}) {}
  Value(bool v) : v_(std::int64_t{v ? 1 : 0}) {}
  Value(std::string_view v) : v_(v) {}
  Value(const std::string& v) : v_(std::string_view(v)) {}
  Value(const char* v) : v_(std::string_view(v)) {}
  Value(const SecretHash& v) : v_(Blob(v)) {}
  Value(Blob v) : v_(v) {}
  template <class T>
  Value(const std::optional<T>& v) {
    if (v) *this = Value(*v);
  }

  const std::variant<std::monostate, std::int64_t, std::string_view, Blob>& get() const { return v_; }

 private:
  std::variant<std::monostate, std::int64_t, std::string_view, Blob> v_;
};

using Params = std::initializer_list<Value>;

// Maps a SQLite result code to an Error: unique violations are `conflict` (callers replace the message
// with one naming what is taken), busy/locked/I/O/cannot-open/full are `unavailable`, the rest `internal`.
Error sqlite_error(int code, std::string_view message);

class Connection;

struct CachedStatement {
  sqlite3_stmt* stmt = nullptr;
  bool in_use = false;
};

// A statement in use: bound at creation, stepped with next(), reset (or, when it was not from the cache,
// finalized) when destroyed.
class Rows {
 public:
  Rows(Connection& conn, sqlite3_stmt* stmt, CachedStatement* cached)
      : conn_(&conn), stmt_(stmt), cached_(cached) {}
  Rows(Rows&& other) noexcept : conn_(other.conn_), stmt_(other.stmt_), cached_(other.cached_) {
    other.stmt_ = nullptr;
  }
  Rows& operator=(Rows&&) = delete;
  ~Rows();

  // true when a row is available, false when the statement is done.
  Result<bool> next();

  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  std::optional<std::int64_t> optional_int64(int col) const;
  std::string text(int col) const;
  std::optional<std::string> optional_text(int col) const;
  std::span<const std::uint8_t> blob(int col) const;

 private:
  Connection* conn_;
  sqlite3_stmt* stmt_;
  CachedStatement* cached_;  // null: a one-off statement (its cached twin was busy)
};

struct OpenFlags {
  bool create_if_missing = true;
  bool read_only = false;  // a reader: PRAGMA query_only
};

class Connection {
 public:
  // `unavailable` naming the path when the file cannot be opened or is not a database.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, OpenFlags flags);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs a cached prepared statement with `params` bound to ?1, ?2, ... (or to ?, ?, ... in order).
  Result<Rows> query(std::string_view sql, Params params = {});
  Result<Rows> query(std::string_view sql, const std::vector<Value>& params);
  // Runs a statement to completion; returns the number of rows it changed.
  Result<int> execute(std::string_view sql, Params params = {});
  // A single integer from the first column of the first row; nullopt when no row.
  Result<std::optional<std::int64_t>> query_int64(std::string_view sql, Params params = {});
  Result<std::optional<std::int64_t>> query_int64(std::string_view sql, const std::vector<Value>& params);
  // Runs fixed SQL text that may hold several statements (schema DDL only; never values).
  Status execute_script(const char* sql);

  std::int64_t last_insert_id() const;
  bool in_transaction() const;
  Error last_error(int code) const;
  const std::string& path() const { return path_; }

 private:
  friend class Rows;
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Result<Rows> start(std::string_view sql, const Value* first, const Value* last);

  sqlite3* db_;
  std::string path_;
  // Looked up by string_view without building a string. Nodes are stable: Rows keep pointers into it.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, CachedStatement, TextHash, std::equal_to<>> cache_;
};

}  // namespace rt::sqlite
