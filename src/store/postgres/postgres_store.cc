// Opening a PostgreSQL store: the pool's first connection proves the server is reachable, then the schema
// is migrated (or checked), then the store is handed out.
#include "store/postgres/postgres_store.h"

#include "store/postgres/schema.h"

namespace rt {

Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url, const StoreOptions& options) {
  RT_TRY(auto pool, postgres::Pool::open(url, std::max(1, options.read_connections)));
  Status schema = pool->run<Ok>([&](postgres::Connection& c) {
    return options.create_if_missing ? postgres::migrate(c, options.migrate_existing) : postgres::check_current(c);
  });
  if (!schema.ok()) {
    Error e = schema.error();
    e.message = "database " + postgres::redact_url(url) + ": " + e.message;
    return e;
  }
  return std::unique_ptr<Store>(new postgres::PostgresStore(std::move(pool)));
}

int postgres_schema_version() { return postgres::latest_schema_version(); }

}  // namespace rt
