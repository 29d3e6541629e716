// Moving an installation from SQLite to PostgreSQL (`repotokensd admin copy`): every row of every table,
// ids and keyed hashes included, copied into an empty, migrated PostgreSQL database in one transaction
// and verified table by table. It knows both backends' tables, which have the same shape by design.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace rt {

struct CopiedTable {
  std::string table;
  std::int64_t rows = 0;  // in the source, and (verified) in the target
};

struct CopyReport {
  int source_schema = 0;
  int target_schema = 0;
  std::vector<CopiedTable> tables;   // in copy order (parents before children)
};

// Copies the SQLite database `from` ("sqlite:PATH"; opened read-only, one consistent snapshot) into the
// PostgreSQL database `to` ("postgresql://..."). Both must be at this build's schema version of their
// backend; the target must be empty in every table it receives. In one target transaction, with the
// target tables locked: checks emptiness, inserts every row keeping ids, resets each identity sequence
// past the largest copied id, and compares the row counts of every table before committing. Any failure
// rolls back and changes nothing. `invalid` for a wrong URL, a non-empty target or a schema mismatch,
// with a message saying what to do; `unavailable` when a database cannot be opened.
Result<CopyReport> copy_sqlite_to_postgres(const std::string& from, const std::string& to);

}  // namespace rt
