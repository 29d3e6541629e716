// libpq connection wrapper: statement cache, parameter binding and the mapping from SQLSTATEs and link
// failures to repotokens error kinds.
#include "store/postgres/connection.h"

#include <libpq-fe.h>

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

Result<const std::string*> Connection::prepare(const std::string& sql) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "rt" + std::to_string(prepared_.size() + 1);
    pg_result* res = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) return failure(res, "prepare");
    PQclear(res);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  return &it->second;
}

namespace {

std::vector<const char*> param_values(const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Value& v : params) values.push_back(v.text() ? v.text()->c_str() : nullptr);
  return values;
}

bool succeeded(pg_result* res) {
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

}  // namespace

Result<Rows> Connection::exec(const std::string& sql, const Params& params) {
  RT_TRY(const std::string* name, prepare(sql));
  std::vector<const char*> values = param_values(params);
  pg_result* res = PQexecPrepared(conn_, name->c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                  nullptr, 0);
  if (!succeeded(res)) return failure(res, "statement");
  last_sqlstate_.clear();
  return Rows(res);
}

Result<std::vector<Rows>> Connection::pipeline(std::initializer_list<Statement> statements) {
  std::vector<const std::string*> names;
  for (const Statement& s : statements) {
    RT_TRY(const std::string* name, prepare(s.sql));
    names.push_back(name);
  }
  if (!PQenterPipelineMode(conn_)) return failure(nullptr, "pipeline");
  bool sent = true;
  size_t i = 0;
  for (const Statement& s : statements) {
    std::vector<const char*> values = param_values(s.params);
    sent = sent && PQsendQueryPrepared(conn_, names[i++]->c_str(), static_cast<int>(values.size()), values.data(),
                                       nullptr, nullptr, 0) == 1;
  }
  sent = sent && PQpipelineSync(conn_) == 1;
  if (!sent) {
    broken_ = true;  // half a pipeline may be on the wire: this connection cannot be trusted again
    return failure(nullptr, "pipeline");
  }
  // One result (then a null) per statement, then the Sync's; read all of them even after a failure, so
  // the connection is clean for its next user. After the first failure the rest come back aborted.
  std::vector<Rows> rows;
  std::optional<Error> first_error;
  for (size_t k = 0; k < statements.size(); ++k) {
    pg_result* res = PQgetResult(conn_);
    if (!res) break;  // the link is gone
    if (!first_error && succeeded(res)) {
      rows.emplace_back(res);
    } else {
      if (!first_error && PQresultStatus(res) != PGRES_PIPELINE_ABORTED) first_error = failure(res, "statement");
      else PQclear(res);
    }
    while (pg_result* extra = PQgetResult(conn_)) PQclear(extra);  // the null that ends this statement
  }
  bool synced = false;
  while (pg_result* res = PQgetResult(conn_)) {
    synced = synced || PQresultStatus(res) == PGRES_PIPELINE_SYNC;
    PQclear(res);
    if (synced) break;
  }
  if (!synced || !PQexitPipelineMode(conn_)) {
    broken_ = true;
    if (!first_error) first_error = failure(nullptr, "pipeline");
  }
  if (first_error) return *first_error;
  if (rows.size() != statements.size()) return failure(nullptr, "pipeline");
  last_sqlstate_.clear();
  return rows;
}

Status Connection::exec_script(const std::string& sql) {
  pg_result* res = PQexec(conn_, sql.c_str());
  if (!succeeded(res)) return failure(res, "statement");
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
