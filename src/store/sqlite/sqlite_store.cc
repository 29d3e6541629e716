// Opening a SQLite store: the writer's connection first (it creates the file, switches it to WAL and
// applies the migrations), then the read connections, then the writer thread.
#include "store/sqlite/sqlite_store.h"

#include "store/sqlite/schema.h"

namespace rt::sqlite {

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const StoreOptions& options) {
  if (path.empty()) return make_error(ErrorKind::invalid, "the SQLite database path is empty");
  // Every connection of an in-memory database would see its own, separate database.
  if (path == ":memory:")
    return make_error(ErrorKind::invalid, "an in-memory SQLite database is not supported; give a file path");
  RT_TRY(auto conn, Connection::open(path, OpenFlags{.create_if_missing = options.create_if_missing}));
  if (auto st = migrate(*conn); !st.ok()) {
    Error e = st.error();
    if (e.message.find(path) == std::string::npos) e.message = "database " + path + ": " + e.message;
    return e;
  }
  RT_TRY(auto readers, ReadPool::open(path, options.read_connections));
  auto writer = std::make_unique<Writer>(std::move(conn), options.group_commit);
  return std::unique_ptr<Store>(new SqliteStore(std::move(writer), std::move(readers)));
}

}  // namespace rt::sqlite
