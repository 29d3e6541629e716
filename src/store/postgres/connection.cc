// libpq connection wrapper: statement cache, parameter binding and the mapping from SQLSTATEs and link
// failures to repotokens error kinds.
#include "store/postgres/connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>

namespace rt::postgres {
namespace {

// Class 08 (connection exception), 57P01-57P03 (shutdown, cannot connect now), 53300 (too many
// connections): the database is not reachable right now, which callers report as 503 and retry.
bool unavailable_state(std::string_view s) {
  return s.substr(0, 2) == "08" || s == "57P01" || s == "57P02" || s == "57P03" || s == "53300";
}

ErrorKind kind_of(std::string_view sqlstate) {
  if (sqlstate == kUniqueViolation || sqlstate == kSerializationFailure || sqlstate == kDeadlockDetected)
    return ErrorKind::conflict;
  if (sqlstate == "23503") return ErrorKind::not_found;  // foreign key: the referenced row is gone
  if (sqlstate.substr(0, 2) == "22") return ErrorKind::invalid;  // data exception (e.g. a NUL byte in text)
  if (unavailable_state(sqlstate)) return ErrorKind::unavailable;
  return ErrorKind::internal;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;  // the server writes lower case; upper case accepted all the same
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Rows::Rows(pg_result* res) : res_(res, PQclear), rows_(PQntuples(res)) {
  const char* n = PQcmdTuples(res);
  if (n && *n) std::from_chars(n, n + std::char_traits<char>::length(n), affected_);
}

bool Rows::is_null(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }

std::string Rows::text(int row, int col) const {
  return std::string(PQgetvalue(res_.get(), row, col), PQgetlength(res_.get(), row, col));
}

std::int64_t Rows::int64(int row, int col) const {
  const char* v = PQgetvalue(res_.get(), row, col);
  std::int64_t out = 0;
  std::from_chars(v, v + PQgetlength(res_.get(), row, col), out);
  return out;
}

bool Rows::boolean(int row, int col) const { return PQgetvalue(res_.get(), row, col)[0] == 't'; }

std::optional<std::string> Rows::optional_text(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return text(row, col);
}

std::optional<std::int64_t> Rows::optional_int64(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return int64(row, col);
}

std::string Rows::bytes(int row, int col) const {
  std::string_view text(PQgetvalue(res_.get(), row, col), PQgetlength(res_.get(), row, col));
  if (!text.starts_with("\\x")) {  // bytea_output = 'escape' on this server: let libpq undo it
    size_t n = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text.data()), &n);
    std::string out = raw ? std::string(reinterpret_cast<const char*>(raw), n) : std::string();
    PQfreemem(raw);
    return out;
  }
  // The default 'hex' form: \x then two digits per byte, decoded without libpq's extra copy.
  text.remove_prefix(2);
  std::string out(text.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(hex_digit(text[2 * i]) << 4 | hex_digit(text[2 * i + 1]));
  return out;
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& url) {
  // Later keywords override earlier ones and the URL's own parameters override these defaults.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"3", "repotokensd", url.c_str(), nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!conn) return make_error(ErrorKind::unavailable, "out of memory connecting to PostgreSQL");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = trim(PQerrorMessage(conn));
    PQfinish(conn);
    return make_error(ErrorKind::unavailable, "cannot connect to PostgreSQL at " + redact_url(url) + ": " + why);
  }
  // Notices ("relation already exists, skipping") are not errors; libpq would print them to stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Connection>(new Connection(conn));
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::healthy() const { return !broken_ && PQstatus(conn_) == CONNECTION_OK; }

Error Connection::failure(pg_result* res, std::string_view what) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string message = trim(res ? PQresultErrorMessage(res) : "");
  if (message.empty()) message = trim(PQerrorMessage(conn_));
  if (res) PQclear(res);
  // A lost link (no SQLSTATE and a bad connection) or a class 08/57P0x error: the pool must reconnect.
  if (PQstatus(conn_) != CONNECTION_OK || unavailable_state(last_sqlstate_)) {
    broken_ = true;
    return make_error(ErrorKind::unavailable, "PostgreSQL unavailable (" + std::string(what) + "): " + message);
  }
  if (last_sqlstate_.empty()) return make_error(ErrorKind::internal, "PostgreSQL " + std::string(what) + ": " + message);
  return make_error(kind_of(last_sqlstate_), message);
}

Result<Rows> Connection::exec(const std::string& sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "rt" + std::to_string(prepared_.size() + 1);
    pg_result* res = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) return failure(res, "prepare");
    PQclear(res);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  std::vector<const char*> values;
  std::vector<int> lengths, formats;  // only when a parameter is binary; libpq reads text up to its NUL
  values.reserve(params.size());
  for (const Value& v : params) values.push_back(v.text() ? v.text()->c_str() : nullptr);
  if (std::any_of(params.begin(), params.end(), [](const Value& v) { return v.binary(); })) {
    for (const Value& v : params) {
      lengths.push_back(v.text() ? static_cast<int>(v.text()->size()) : 0);
      formats.push_back(v.binary() ? 1 : 0);
    }
  }
  pg_result* res = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()), values.data(),
                                  lengths.empty() ? nullptr : lengths.data(),
                                  formats.empty() ? nullptr : formats.data(), 0);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return failure(res, "statement");
  last_sqlstate_.clear();
  return Rows(res);
}

Status Connection::exec_script(const std::string& sql) {
  pg_result* res = PQexec(conn_, sql.c_str());
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) return failure(res, "statement");
  PQclear(res);
  last_sqlstate_.clear();
  return ok_status();
}

Result<std::optional<std::int64_t>> Connection::query_int64(const std::string& sql, const Params& params) {
  RT_TRY(Rows rows, exec(sql, params));
  if (rows.size() == 0 || rows.is_null(0, 0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(rows.int64(0, 0));
}

std::string redact_url(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + url.substr(at);
}

}  // namespace rt::postgres
