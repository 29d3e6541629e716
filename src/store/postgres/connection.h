// One libpq connection as repotokens uses it: parameters always bound (never SQL text), every statement
// prepared once per connection and cached by its text, results decoded from the text format, and
// failures mapped to error kinds (unique violation -> conflict, lost or refused connection -> unavailable).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "core/secret.h"

struct pg_conn;
struct pg_result;

namespace rt::postgres {

// A bound parameter in PostgreSQL's text form (hashes as \x hex); nullopt is SQL NULL. Large byte strings
// go as Value::bytes, sent in binary form: no hex doubling of a report of several megabytes.
class Value {
 public:
  Value(std::nullopt_t) {}
  Value(std::int64_t v) : text_(std::to_string(v)) {}
  Value(int v) : text_(std::to_string(v)) {}
  Value(bool v) : text_(v ? "t" : "f") {}
  Value(std::string_view v) : text_(std::string(v)) {}
  Value(const std::string& v) : text_(v) {}
  Value(const char* v) : text_(std::string(v)) {}
  Value(const SecretHash& v) : text_("\\x" + to_hex(v)) {}
  template <class T>
  Value(const std::optional<T>& v) {
    if (v) *this = Value(*v);
  }
  // A bytea parameter sent as its raw bytes.
  static Value bytes(std::string_view data) {
    Value v(data);
    v.binary_ = true;
    return v;
  }
  const std::optional<std::string>& text() const { return text_; }
  bool binary() const { return binary_; }

 private:
  std::optional<std::string> text_;
  bool binary_ = false;
};

using Params = std::vector<Value>;

// SQLSTATEs the store reacts to.
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kDeadlockDetected = "40P01";

// A statement's rows, owned; columns read in text form.
class Rows {
 public:
  Rows() = default;
  explicit Rows(pg_result* res);
  int size() const { return rows_; }
  bool is_null(int row, int col) const;
  std::string text(int row, int col) const;
  std::int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const;
  std::optional<std::string> optional_text(int row, int col) const;
  std::optional<std::int64_t> optional_int64(int row, int col) const;
  // A bytea column (text form \x followed by hex) as its raw bytes.
  std::string bytes(int row, int col) const;
  int affected() const { return affected_; }  // rows changed by INSERT/UPDATE/DELETE

 private:
  std::shared_ptr<pg_result> res_;
  int rows_ = 0;
  int affected_ = 0;
};

// One statement of a pipeline: its text ($1, $2, ... placeholders) and parameters.
struct Statement {
  const char* sql;
  Params params;
};

// The error of a failed statement: its kind, message and SQLSTATE (empty when none, e.g. a lost link).
struct StatementError {
  Error error;
  std::string sqlstate;
};

class Connection {
 public:
  // Connects to `url` (a postgresql:// URL or conninfo string). `unavailable` when it cannot.
  static Result<std::unique_ptr<Connection>> open(const std::string& url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Prepares `sql` on first use ($1, $2, ... placeholders), then executes it with `params`.
  Result<Rows> exec(const std::string& sql, const Params& params = {});
  // Sends every statement at once and then one Sync, and reads the answers: one round trip. Outside a
  // transaction block the statements form one implicit transaction that commits at the Sync, or rolls
  // back as a whole when one fails (the first failure is returned). Under READ COMMITTED each statement
  // still takes its own snapshot, so a statement sees what was committed while an earlier one waited on
  // a lock.
  Result<std::vector<Rows>> pipeline(std::initializer_list<Statement> statements);
  // Runs text with no parameters, possibly several statements (migrations, BEGIN/COMMIT).
  Status exec_script(const std::string& sql);
  // The first column of the first row as an integer; nullopt when there is no row.
  Result<std::optional<std::int64_t>> query_int64(const std::string& sql, const Params& params = {});

  // False once the link to the server is lost; the pool then replaces this connection.
  bool healthy() const;
  // The SQLSTATE of the last failed statement ("" when none or when the link failed).
  const std::string& last_sqlstate() const { return last_sqlstate_; }

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  Error failure(pg_result* res, std::string_view what);
  Result<const std::string*> prepare(const std::string& sql);  // the statement's name, prepared once
  pg_conn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::string last_sqlstate_;
  bool broken_ = false;
};

// Hides credentials in a URL for messages: postgresql://user:secret@host/db -> postgresql://user@host/db.
std::string redact_url(const std::string& url);

}  // namespace rt::postgres
