// One sqlite3 connection: open + pragmas, the prepared-statement cache, binding, stepping and the mapping
// of SQLite result codes to repotokens error kinds.
#include "store/sqlite/connection.h"

#include <sqlite3.h>

#include <type_traits>

namespace rt::sqlite {

Error sqlite_error(int code, std::string_view message) {
  std::string text = "sqlite: " + std::string(message);
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT:
      if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
        return make_error(ErrorKind::conflict, std::move(text));
      return make_error(ErrorKind::internal, std::move(text));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return make_error(ErrorKind::unavailable, std::move(text));
    default:
      return make_error(ErrorKind::internal, std::move(text));
  }
}

// --- Rows ---------------------------------------------------------------------------------------------

Rows::~Rows() {
  if (!stmt_) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (cached_)
    cached_->in_use = false;
  else
    sqlite3_finalize(stmt_);
}

Result<bool> Rows::next() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->last_error(rc);
}

bool Rows::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::int64_t Rows::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::optional<std::int64_t> Rows::optional_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

std::string Rows::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (!p) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<std::string> Rows::optional_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

std::span<const std::uint8_t> Rows::blob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
  if (!p) return {};
  return {p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

// --- Connection ---------------------------------------------------------------------------------------

namespace {

Error open_error(const std::string& path, std::string_view why) {
  return make_error(ErrorKind::unavailable, "cannot open database " + path + ": " + std::string(why));
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, OpenFlags flags) {
  int mode = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (flags.create_if_missing && !flags.read_only) mode |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, mode, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return open_error(path, why);
  }
  std::unique_ptr<Connection> conn(new Connection(db, path));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 10000);

  // The first statement reads the header: a file that is not a database fails here, not later.
  auto probe = conn->query_int64("SELECT count(*) FROM sqlite_schema");
  if (!probe.ok()) return open_error(path, sqlite3_errmsg(db));
  const char* pragmas = flags.read_only
                            ? "PRAGMA foreign_keys=ON; PRAGMA query_only=ON;"
                            // WAL: readers never wait for the writer. FULL: the WAL is fsynced at every
                            // COMMIT, so a write the store acknowledged survives a power cut.
                            : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;";
  if (auto st = conn->execute_script(pragmas); !st.ok()) return open_error(path, st.error().message);
  if (!flags.read_only) {
    auto mode_row = conn->query("PRAGMA journal_mode");
    if (!mode_row.ok()) return open_error(path, mode_row.error().message);
    auto has = mode_row->next();
    if (!has.ok() || !*has || mode_row->text(0) != "wal")
      return open_error(path, "the file system does not support WAL mode");
  }
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close_v2(db_);
}

Result<Rows> Connection::start(std::string_view sql, const Value* first, const Value* last) {
  CachedStatement* cached = nullptr;
  sqlite3_stmt* stmt = nullptr;
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) {
    cached = &it->second;
    stmt = cached->stmt;
  } else {
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                it == cache_.end() ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, &tail);
    if (rc != SQLITE_OK) return last_error(rc);
    if (!stmt || (tail && tail != sql.data() + sql.size() && *tail)) {
      sqlite3_finalize(stmt);
      return make_error(ErrorKind::internal, "sqlite: expected exactly one statement");
    }
    // The first preparation of a text goes into the cache; a nested use of a busy one stays one-off.
    if (it == cache_.end()) cached = &cache_.emplace(std::string(sql), CachedStatement{stmt, false}).first->second;
  }
  if (cached) cached->in_use = true;
  Rows rows(*this, stmt, cached);

  int index = 1;
  for (const Value* param = first; param != last; ++param) {
    int rc = std::visit(
        [&](const auto& v) -> int {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::monostate>) {
            return sqlite3_bind_null(stmt, index);
          } else if constexpr (std::is_same_v<V, std::int64_t>) {
            return sqlite3_bind_int64(stmt, index, v);
          } else if constexpr (std::is_same_v<V, std::string_view>) {
            // A null pointer would bind NULL; an empty string must stay an empty string.
            return sqlite3_bind_text64(stmt, index, v.data() ? v.data() : "", v.size(), SQLITE_TRANSIENT,
                                       SQLITE_UTF8);
          } else {
            if (v.empty()) return sqlite3_bind_zeroblob(stmt, index, 0);
            return sqlite3_bind_blob64(stmt, index, v.data(), v.size(), SQLITE_TRANSIENT);
          }
        },
        param->get());
    if (rc != SQLITE_OK) return last_error(rc);
    ++index;
  }
  return rows;
}

Result<Rows> Connection::query(std::string_view sql, Params params) {
  return start(sql, params.begin(), params.end());
}

Result<Rows> Connection::query(std::string_view sql, const std::vector<Value>& params) {
  return start(sql, params.data(), params.data() + params.size());
}

Result<int> Connection::execute(std::string_view sql, Params params) {
  RT_TRY(Rows rows, query(sql, params));
  for (;;) {
    RT_TRY(bool more, rows.next());
    if (!more) break;
  }
  return sqlite3_changes(db_);
}

namespace {

Result<std::optional<std::int64_t>> first_int64(Result<Rows> started) {
  if (!started.ok()) return started.error();
  Rows& rows = started.value();
  RT_TRY(bool has, rows.next());
  if (!has) return std::optional<std::int64_t>();
  return rows.optional_int64(0);
}

}  // namespace

Result<std::optional<std::int64_t>> Connection::query_int64(std::string_view sql, Params params) {
  return first_int64(query(sql, params));
}

Result<std::optional<std::int64_t>> Connection::query_int64(std::string_view sql, const std::vector<Value>& params) {
  return first_int64(query(sql, params));
}

Status Connection::execute_script(const char* sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return ok_status();
  Error e = sqlite_error(rc, message ? message : sqlite3_errstr(rc));
  sqlite3_free(message);
  return e;
}

std::int64_t Connection::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

Error Connection::last_error(int code) const { return sqlite_error(code, sqlite3_errmsg(db_)); }

}  // namespace rt::sqlite
