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

// Parameters as libpq takes them: text values up to their NUL, binary ones (Value::bytes) with lengths.
struct BoundParams {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;  // empty unless a parameter is binary
  explicit BoundParams(const Params& params) {
    values.reserve(params.size());
    for (const Value& v : params) values.push_back(v.text() ? v.text()->c_str() : nullptr);
    if (std::any_of(params.begin(), params.end(), [](const Value& v) { return v.binary(); })) {
      for (const Value& v : params) {
        lengths.push_back(v.text() ? static_cast<int>(v.text()->size()) : 0);
        formats.push_back(v.binary() ? 1 : 0);
      }
    }
  }
  int count() const { return static_cast<int>(values.size()); }
  const int* length_data() const { return lengths.empty() ? nullptr : lengths.data(); }
  const int* format_data() const { return formats.empty() ? nullptr : formats.data(); }
};

bool succeeded(pg_result* res) {
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

}  // namespace

Result<Rows> Connection::exec(const std::string& sql, const Params& params) {
  RT_TRY(const std::string* name, prepare(sql));
  BoundParams p(params);
  pg_result* res = PQexecPrepared(conn_, name->c_str(), p.count(), p.values.data(), p.length_data(), p.format_data(), 0);
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
    BoundParams p(s.params);
    sent = sent && PQsendQueryPrepared(conn_, names[i++]->c_str(), p.count(), p.values.data(), p.length_data(),
                                       p.format_data(), 0) == 1;
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
