// The server secret that keys token hashes and cursor MACs. It lives outside the database: an explicit
// --secret-file, or with SQLite `<db path>.key`, created (mode 0600) on first start. PostgreSQL needs
// an explicit file, shared by every node.
#pragma once

#include <string>

#include "core/result.h"
#include "core/secret.h"

namespace rt::server {

// Loads the key for `db_url`: from `secret_file` when given (it must exist), else from the SQLite
// default path, creating it when missing. `invalid` with a message saying what to do otherwise.
Result<SecretKey> load_or_create_key(const std::string& db_url, const std::string& secret_file);

// Reads a key file: 64 hexadecimal characters (and a newline). `invalid` naming the file otherwise.
Result<SecretKey> read_key_file(const std::string& path);

// Writes `key` to a new file (mode 0600, synced); `invalid` when it exists already or cannot be written.
Status write_key_file(const std::string& path, const SecretKey& key);

// The SQLite file path of a "sqlite:PATH" (or plain "*.db") URL; empty for other URLs.
std::string sqlite_path(const std::string& db_url);

}  // namespace rt::server
