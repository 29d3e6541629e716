// open_store: picks the Store implementation from the database URL ("sqlite:PATH", a bare "*.db" path,
// or "postgresql://..."), so the rest of the server never names a backend; parse_store_url tells which
// without opening anything.
#include <string_view>

#include "store/postgres/connection.h"
#include "store/postgres/postgres_store.h"
#include "store/postgres/schema.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace rt {
namespace {

constexpr std::string_view kValidForms =
    "expected sqlite:PATH, a path ending in .db, or postgresql://USER@HOST/DB";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Result<StoreLocation> parse_store_url(const std::string& url) {
  std::string_view text = url;
  if (starts_with(text, "postgresql://") || starts_with(text, "postgres://"))
    return StoreLocation{StoreLocation::Backend::postgres, {}};
  if (starts_with(text, "sqlite:")) {
    std::string_view path = text.substr(7);
    // Accept the URI-ish spelling sqlite://PATH too: sqlite:///abs/path and sqlite://rel/path.
    if (starts_with(path, "//")) path.remove_prefix(2);
    if (path.empty()) return make_error(ErrorKind::invalid, "database URL " + url + " names no file; " + std::string(kValidForms));
    return StoreLocation{StoreLocation::Backend::sqlite, std::string(path)};
  }
  if (ends_with(text, ".db") && text.find("://") == std::string_view::npos)
    return StoreLocation{StoreLocation::Backend::sqlite, url};
  return make_error(ErrorKind::invalid, "unsupported database URL \"" + url + "\": " + std::string(kValidForms));
}

Result<std::unique_ptr<Store>> open_store(const std::string& url, const StoreOptions& options) {
  RT_TRY(StoreLocation where, parse_store_url(url));
  if (where.shared()) return open_postgres_store(url, options);
  return sqlite::open_sqlite_store(where.path, options);
}

Result<SchemaVersion> read_schema_version(const std::string& url) {
  RT_TRY(StoreLocation where, parse_store_url(url));
  SchemaVersion v;
  v.backend = where.backend;
  if (where.shared()) {
    RT_TRY(auto conn, postgres::Connection::open(url));
    RT_TRY(v.found, postgres::schema_version(*conn));
    v.wanted = postgres::latest_schema_version();
  } else {
    RT_TRY(auto conn, sqlite::Connection::open(where.path, {.create_if_missing = false, .read_only = true}));
    RT_TRY(v.found, sqlite::schema_version(*conn));
    v.wanted = sqlite::latest_schema_version();
  }
  return v;
}

}  // namespace rt
