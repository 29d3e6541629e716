// The PostgreSQL schema as ordered, versioned migrations, numbered like the SQLite ones (store/sqlite/
// schema.cc) so that `admin check` compares one version across backends. schema_migrations holds one row
// per applied step; the database's version is the highest.
#pragma once

#include "core/result.h"
#include "store/postgres/connection.h"

namespace rt::postgres {

// The newest schema version this build knows.
int latest_schema_version();

// The version the database is at (0 for an empty database).
Result<int> schema_version(Connection& conn);

// Applies the missing steps up to the latest in one transaction, under an advisory lock so that nodes
// starting together apply each step once. `unavailable` when the database is newer than this build, and,
// without `upgrade_existing`, when it holds an older schema (an empty database still gets the schema).
Status migrate(Connection& conn, bool upgrade_existing = true);

// ok when the database is exactly at the latest version; `unavailable` naming both versions otherwise.
Status check_current(Connection& conn);

}  // namespace rt::postgres
