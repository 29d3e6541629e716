// The SQLite schema as an ordered list of versioned migrations. PRAGMA user_version holds the version a
// database is at, and schema_migrations records when each step was applied; opening a store applies the
// missing steps in one transaction and refuses a database written by a newer repotokens.
#pragma once

#include "core/result.h"
#include "store/sqlite/connection.h"

namespace rt::sqlite {

// The newest schema version this build knows.
int latest_schema_version();

// Brings the database up to `target` (latest by default), in one IMMEDIATE transaction. `unavailable`
// with a clear message when the database is at a version newer than this build knows.
Status migrate(Connection& conn, int target = -1);

// The version the database is at (0 for a new file).
Result<int> schema_version(Connection& conn);

}  // namespace rt::sqlite
