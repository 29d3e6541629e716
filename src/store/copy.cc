// SQLite -> PostgreSQL copy (see copy.h). Columns are matched by name and converted by the target
// column's type (SQLite's 0/1 to boolean, blobs to bytea), so the copy follows the schemas rather than
// repeating them; the table list below fixes only the order that keeps foreign keys satisfied.
#include "store/copy.h"

#include <algorithm>
#include <optional>
#include <set>

#include "store/postgres/connection.h"
#include "store/postgres/schema.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "store/store.h"

namespace rt {
namespace {

// Every table of the schema, parents before children. A source table missing here stops the copy (a
// migration that adds a table must add it here too), so nothing is ever left behind silently.
constexpr const char* kTables[] = {
    "users",         "account_tokens", "organizations",    "memberships",      "repositories",
    "repository_permissions",          "repository_tokens", "audit_events",    "coverage_reports",
    "coverage_uploads",                "console_sessions",  "webhooks",        "webhook_events",
    "ci_trust_rules",                  "ci_jti"};
// Each side's own record of its migrations: not data, never copied.
constexpr std::string_view kBookkeeping = "schema_migrations";
// Kept by the target's own triggers as the rows it counts arrive; never copied, compared after the copy.
constexpr std::string_view kDerived = "repository_counts";

// One INSERT carries at most this many rows, parameters (PostgreSQL allows 65535) and bytes of values.
constexpr size_t kBatchRows = 500;
constexpr size_t kBatchParams = 30000;
constexpr size_t kBatchBytes = 8 << 20;

struct Column {
  std::string name;
  std::string type;  // the target's information_schema data_type
};

Error refuse(std::string message) { return make_error(ErrorKind::invalid, std::move(message)); }

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

// The table names of one side.
Result<std::set<std::string>> sqlite_tables(sqlite::Connection& db) {
  RT_TRY(auto rows, db.query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"));
  std::set<std::string> names;
  for (;;) {
    RT_TRY(bool more, rows.next());
    if (!more) return names;
    names.insert(rows.text(0));
  }
}

Result<std::set<std::string>> postgres_tables(postgres::Connection& db) {
  RT_TRY(auto rows, db.exec("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"));
  std::set<std::string> names;
  for (int i = 0; i < rows.size(); ++i) names.insert(rows.text(i, 0));
  return names;
}

// The largest id SQLite ever gave a row of `table` (0 when none): AUTOINCREMENT keeps it in sqlite_sequence.
Result<std::int64_t> largest_id_ever(sqlite::Connection& source, const std::string& table) {
  RT_TRY(auto has_sequence,
         source.query_int64("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'"));
  if (has_sequence.value_or(0) == 0) return std::int64_t{0};
  RT_TRY(auto seq, source.query_int64("SELECT seq FROM sqlite_sequence WHERE name = ?1", {table}));
  return seq.value_or(0);
}

// The target's columns of `table`, checked to be exactly the source's (by name).
Result<std::vector<Column>> matching_columns(sqlite::Connection& source, postgres::Connection& target,
                                             const std::string& table) {
  RT_TRY(auto rows, target.exec("SELECT column_name, data_type FROM information_schema.columns"
                                " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                                {table}));
  std::vector<Column> columns;
  std::set<std::string> target_names;
  for (int i = 0; i < rows.size(); ++i) {
    columns.push_back({rows.text(i, 0), rows.text(i, 1)});
    target_names.insert(rows.text(i, 0));
  }
  RT_TRY(auto source_rows, source.query("SELECT name FROM pragma_table_info(?1)", {table}));
  std::set<std::string> source_names;
  for (;;) {
    RT_TRY(bool more, source_rows.next());
    if (!more) break;
    source_names.insert(source_rows.text(0));
  }
  if (source_names != target_names) {
    std::string only_source, only_target;
    for (const auto& n : source_names)
      if (!target_names.count(n)) only_source += " " + n;
    for (const auto& n : target_names)
      if (!source_names.count(n)) only_target += " " + n;
    return refuse("table " + table + " differs between the databases (only in the source:" +
                  (only_source.empty() ? " none" : only_source) + "; only in the target:" +
                  (only_target.empty() ? " none" : only_target) + "); both must be at the same schema version");
  }
  return columns;
}

// One source value as the target column's text-format parameter.
Result<postgres::Value> convert(const sqlite::Rows& row, int col, const Column& c, const std::string& table) {
  if (row.is_null(col)) return postgres::Value(std::nullopt);
  if (c.type == "bigint" || c.type == "integer" || c.type == "smallint") return postgres::Value(row.int64(col));
  if (c.type == "boolean") return postgres::Value(row.int64(col) != 0);
  if (c.type == "bytea") {
    auto raw = row.blob(col);
    return postgres::Value::bytes(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
  }
  if (c.type == "text" || c.type == "character varying" || c.type == "double precision" || c.type == "real" ||
      c.type == "numeric")
    return postgres::Value(row.text(col));
  return refuse("column " + table + "." + c.name + " has type " + c.type + ", which admin copy does not convert");
}

// INSERT ... VALUES (...), (...) for the rows whose values are in `params`, then empties it.
Status insert_rows(postgres::Connection& target, const std::string& table, const std::vector<Column>& columns,
                   postgres::Params& params) {
  if (params.empty()) return ok_status();
  std::string sql = "INSERT INTO " + quoted(table) + " (";
  for (size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + quoted(columns[i].name);
  // OVERRIDING SYSTEM VALUE: the copied ids are kept even if an id column is GENERATED ALWAYS.
  sql += ") OVERRIDING SYSTEM VALUE VALUES ";
  for (size_t p = 0; p < params.size(); ++p) {
    if (p % columns.size() == 0) sql += p ? "), (" : "(";
    else sql += ", ";
    sql += "$" + std::to_string(p + 1);
  }
  sql += ")";
  auto inserted = target.exec(sql, params);
  params.clear();
  if (!inserted) return make_error(inserted.error().kind, "copying " + table + ": " + inserted.error().message);
  return ok_status();
}

// Streams every row of `table` from the source into the target; returns how many rows were read.
Result<std::int64_t> copy_rows(sqlite::Connection& source, postgres::Connection& target, const std::string& table,
                               const std::vector<Column>& columns) {
  std::string select = "SELECT ";
  for (size_t i = 0; i < columns.size(); ++i) select += (i ? ", " : "") + quoted(columns[i].name);
  select += " FROM " + quoted(table);
  RT_TRY(auto rows, source.query(select));
  const size_t batch_rows = std::max<size_t>(1, std::min(kBatchRows, kBatchParams / columns.size()));
  postgres::Params params;
  size_t bytes = 0;
  std::int64_t read = 0;
  for (;;) {
    RT_TRY(bool more, rows.next());
    if (!more) break;
    ++read;
    for (size_t i = 0; i < columns.size(); ++i) {
      RT_TRY(postgres::Value v, convert(rows, static_cast<int>(i), columns[i], table));
      bytes += v.text() ? v.text()->size() : 0;
      params.push_back(std::move(v));
    }
    if (params.size() >= batch_rows * columns.size() || bytes >= kBatchBytes) {
      RT_TRY_STATUS(insert_rows(target, table, columns, params));
      bytes = 0;
    }
  }
  RT_TRY_STATUS(insert_rows(target, table, columns, params));
  return read;
}

// "run X first" advice for a side that is not at this build's version.
Status require_current(const char* side, const char* backend, int found, int wanted, const std::string& shown_url) {
  if (found == wanted) return ok_status();
  std::string has = found == 0 ? "no repotokens schema" : "schema version " + std::to_string(found);
  return refuse("the " + std::string(side) + " " + backend + " database has " + has + ", but this build wants " +
                std::to_string(wanted) + ": " +
                (found < wanted ? "run `repotokensd admin migrate --db " + shown_url + "` first"
                                : "it was migrated by a newer repotokensd; copy with that version"));
}

// Everything after both sides are open and the target transaction has begun.
Result<CopyReport> copy_in_transaction(sqlite::Connection& source, postgres::Connection& target, CopyReport report) {
  RT_TRY(auto source_tables, sqlite_tables(source));
  RT_TRY(auto target_tables, postgres_tables(target));
  for (const auto& t : source_tables)
    if (t != kBookkeeping && t != kDerived && std::find(std::begin(kTables), std::end(kTables), t) == std::end(kTables))
      return refuse("the source has a table admin copy does not know (" + t + "); use the repotokensd that wrote it");

  // Both sides are at this build's schema, which has the same tables on both backends.
  std::vector<std::string> present;  // in copy order
  for (const char* t : kTables) {
    if (target_tables.count(t)) present.emplace_back(t);
    else if (source_tables.count(t))
      return refuse("the target database has no table " + std::string(t) + "; both must be at this build's schema");
  }
  if (present.empty()) return refuse("the target database has none of the repotokens tables; run admin migrate on it");
  // Nothing else may write while the target fills: a node started too early waits, or we give up.
  std::string lock = "LOCK TABLE ";
  for (size_t i = 0; i < present.size(); ++i) lock += (i ? ", " : "") + quoted(present[i]);
  RT_TRY_STATUS(target.exec_script("SET LOCAL lock_timeout = '10s'"));
  RT_TRY_STATUS(target.exec_script(lock + " IN EXCLUSIVE MODE"));

  std::string occupied;
  for (const std::string& t : present) {
    RT_TRY(auto n, target.query_int64("SELECT count(*) FROM " + quoted(t)));
    if (n.value_or(0) > 0) occupied += (occupied.empty() ? "" : ", ") + t + " has " + std::to_string(*n) + " rows";
  }
  if (!occupied.empty())
    return refuse("the target database is not empty (" + occupied +
                  "); admin copy only fills an empty, migrated database, and changed nothing");

  for (const std::string& t : present) {
    if (!source_tables.count(t)) continue;
    RT_TRY(auto columns, matching_columns(source, target, t));
    RT_TRY(std::int64_t read, copy_rows(source, target, t, columns));
    if (std::any_of(columns.begin(), columns.end(), [](const Column& c) { return c.name == "id"; })) {
      // The next generated id follows the largest the source ever handed out (ids are never reused): its
      // sqlite_sequence entry, which also counts deleted rows, or the largest copied id.
      RT_TRY(std::int64_t used, largest_id_ever(source, t));
      RT_TRY(auto reset, target.exec("SELECT setval(pg_get_serial_sequence($1, 'id'), GREATEST((SELECT COALESCE(max(id), 0) FROM " +
                                         quoted(t) + "), $2::bigint) + 1, false)",
                                     {t, std::to_string(used)}));
      (void)reset;
    }
    RT_TRY(auto in_source, source.query_int64("SELECT count(*) FROM " + quoted(t)));
    RT_TRY(auto in_target, target.query_int64("SELECT count(*) FROM " + quoted(t)));
    if (in_source.value_or(0) != read || in_target.value_or(0) != read)
      return make_error(ErrorKind::internal, "verification failed for " + t + ": " + std::to_string(in_source.value_or(0)) +
                                                 " rows in the source, " + std::to_string(read) + " read, " +
                                                 std::to_string(in_target.value_or(0)) +
                                                 " in the target; nothing was committed");
    report.tables.push_back({t, read});
  }
  // The derived counts the target's triggers made must be the source's (same groups, same sums); the
  // report lists the table with its verified row count like the copied ones.
  if (source_tables.count(std::string(kDerived)) && target_tables.count(std::string(kDerived))) {
    const std::string derived(kDerived);
    // The source's value of `what` over the table, when the target's is the same.
    auto same = [&](const std::string& what) -> Result<std::int64_t> {
      const std::string sql = "SELECT " + what + " FROM " + quoted(derived);
      RT_TRY(auto in_source, source.query_int64(sql));
      RT_TRY(auto in_target, target.query_int64(sql));
      if (in_source.value_or(0) != in_target.value_or(0))
        return make_error(ErrorKind::internal, "verification failed for " + derived + ": " + what + " is " +
                                                   std::to_string(in_source.value_or(0)) + " in the source, " +
                                                   std::to_string(in_target.value_or(0)) +
                                                   " in the target; nothing was committed");
      return in_source.value_or(0);
    };
    RT_TRY(std::int64_t rows, same("count(*)"));
    RT_TRY_STATUS(same("CAST(coalesce(sum(repositories), 0) AS BIGINT)"));
    report.tables.push_back({derived, rows});
  }
  return report;
}

}  // namespace

Result<CopyReport> copy_sqlite_to_postgres(const std::string& from, const std::string& to) {
  auto source_url = parse_store_url(from);
  if (!source_url || source_url->shared())
    return refuse("--from must name a SQLite database (sqlite:PATH), not \"" + postgres::redact_url(from) +
                  "\"; admin copy moves a SQLite installation to PostgreSQL");
  auto target_url = parse_store_url(to);
  if (!target_url || !target_url->shared())
    return refuse("--to must be a PostgreSQL URL (postgresql://USER@HOST/DB), not \"" + postgres::redact_url(to) + "\"");

  RT_TRY(auto source, sqlite::Connection::open(source_url->path, {.create_if_missing = false, .read_only = true}));
  CopyReport report;
  RT_TRY(report.source_schema, sqlite::schema_version(*source));
  RT_TRY_STATUS(require_current("source", "SQLite", report.source_schema, sqlite::latest_schema_version(), from));
  RT_TRY(auto target, postgres::Connection::open(to));
  RT_TRY(report.target_schema, postgres::schema_version(*target));
  RT_TRY_STATUS(require_current("target", "PostgreSQL", report.target_schema, postgres::latest_schema_version(),
                                postgres::redact_url(to)));

  // One snapshot of the source, one transaction on the target.
  RT_TRY_STATUS(source->execute_script("BEGIN"));
  if (Status begun = target->exec_script("BEGIN"); !begun) {
    (void)source->execute_script("ROLLBACK");
    return begun.error();
  }
  auto copied = copy_in_transaction(*source, *target, std::move(report));
  (void)source->execute_script("ROLLBACK");  // it only read
  if (!copied) {
    (void)target->exec_script("ROLLBACK");
    return copied.error();
  }
  RT_TRY_STATUS(target->exec_script("COMMIT"));
  return copied;
}

}  // namespace rt
