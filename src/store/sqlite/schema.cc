// The migrations, oldest first. A step is never edited once released: a change is a new step appended
// at the end, so every database walks the same path to the same schema.
#include "store/sqlite/schema.h"

#include <array>
#include <string>

namespace rt::sqlite {
namespace {

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

constexpr std::array kMigrations{
    Migration{1, "core tables", R"sql(
CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  email      TEXT,
  is_admin   INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE account_tokens (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash         BLOB NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  last_used_at INTEGER
);
CREATE INDEX account_tokens_by_user ON account_tokens(user_id, id);
CREATE TABLE organizations (
  id                    INTEGER PRIMARY KEY,
  provider              TEXT NOT NULL,
  name                  TEXT NOT NULL,
  remote_identifier     TEXT NOT NULL,
  type                  TEXT NOT NULL,
  created_at            INTEGER NOT NULL,
  default_lifetime_days INTEGER NOT NULL,
  max_lifetime_days     INTEGER NOT NULL,
  UNIQUE (provider, name)
);
CREATE TABLE memberships (
  org_id  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role    TEXT NOT NULL,
  PRIMARY KEY (org_id, user_id)
) WITHOUT ROWID;
CREATE INDEX memberships_by_user ON memberships(user_id, org_id);
CREATE TABLE repositories (
  id                INTEGER PRIMARY KEY,
  org_id            INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name              TEXT NOT NULL,
  visibility        TEXT NOT NULL,
  remote_identifier TEXT NOT NULL,
  languages         TEXT NOT NULL DEFAULT '[]',
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  UNIQUE (org_id, name)
);
CREATE TABLE repository_permissions (
  repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  permission    TEXT NOT NULL,
  PRIMARY KEY (repository_id, user_id)
) WITHOUT ROWID;
CREATE INDEX repository_permissions_by_user ON repository_permissions(user_id, repository_id);
CREATE TABLE repository_tokens (
  id            INTEGER PRIMARY KEY,
  repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  hash          BLOB NOT NULL UNIQUE,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  last_used_at  INTEGER
);
CREATE INDEX repository_tokens_by_repository ON repository_tokens(repository_id, id);
CREATE TABLE audit_events (
  id            INTEGER PRIMARY KEY,
  org_id        INTEGER,
  at            INTEGER NOT NULL,
  actor_user_id INTEGER,
  actor         TEXT NOT NULL,
  action        TEXT NOT NULL,
  target        TEXT NOT NULL,
  details       TEXT NOT NULL
);
CREATE INDEX audit_events_by_org ON audit_events(org_id, id);
)sql"},
    // The live-token rules (at most N live, names unique among live ones) are checked on every creation:
    // both become index range scans instead of walks over a repository's whole token history.
    Migration{2, "indexes for the live-token rules", R"sql(
CREATE INDEX repository_tokens_live ON repository_tokens(repository_id, expires_at);
CREATE INDEX repository_tokens_by_name ON repository_tokens(repository_id, name, expires_at);
)sql"},
    // Coverage: one compact report per repository, commit and language (never a row per line), and a
    // bounded log of recent uploads for listCoverageReports.
    Migration{3, "coverage reports and upload log", R"sql(
CREATE TABLE coverage_reports (
  id            INTEGER PRIMARY KEY,
  repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  commit_sha    TEXT NOT NULL,
  language      TEXT NOT NULL,
  final         INTEGER NOT NULL,
  files         INTEGER NOT NULL,
  covered       INTEGER NOT NULL,
  coverable     INTEGER NOT NULL,
  data          BLOB NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  UNIQUE (repository_id, commit_sha, language)
);
CREATE TABLE coverage_uploads (
  id            INTEGER PRIMARY KEY,
  repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  commit_sha    TEXT NOT NULL,
  language      TEXT NOT NULL,
  status        TEXT NOT NULL,
  reason        TEXT NOT NULL DEFAULT '',
  files         INTEGER NOT NULL,
  covered       INTEGER NOT NULL,
  coverable     INTEGER NOT NULL,
  bytes         INTEGER NOT NULL,
  at            INTEGER NOT NULL
);
CREATE INDEX coverage_uploads_by_repository ON coverage_uploads(repository_id, id);
CREATE INDEX coverage_uploads_by_commit ON coverage_uploads(repository_id, commit_sha, status);
)sql"},
    // The web console: sessions (only a hash of the session id is stored; a session dies with the account
    // token it was opened with), who created each repository token, and each organization's expiry
    // warning window, with the index the "expiring soon" view walks.
    Migration{4, "console sessions, token creators, expiry warning window", R"sql(
CREATE TABLE console_sessions (
  hash             BLOB PRIMARY KEY,
  account_token_id INTEGER NOT NULL REFERENCES account_tokens(id) ON DELETE CASCADE,
  created_at       INTEGER NOT NULL,
  last_seen_at     INTEGER NOT NULL,
  expires_at       INTEGER NOT NULL
);
CREATE INDEX console_sessions_by_token ON console_sessions(account_token_id);
CREATE INDEX console_sessions_by_expiry ON console_sessions(expires_at);
ALTER TABLE repository_tokens ADD COLUMN created_by TEXT;
ALTER TABLE organizations ADD COLUMN expiry_warning_days INTEGER NOT NULL DEFAULT 14;
CREATE INDEX repository_tokens_by_expiry ON repository_tokens(expires_at);
)sql"},
};

Status apply(Connection& conn, const Migration& m) {
  RT_TRY_STATUS(conn.execute_script(m.sql));
  RT_TRY_STATUS(conn.execute("INSERT INTO schema_migrations(version, description, applied_at) "
                             "VALUES (?1, ?2, unixepoch())",
                             {m.version, m.description}));
  // PRAGMA takes no parameters; the version is this build's own constant, never outside input.
  return conn.execute_script(("PRAGMA user_version = " + std::to_string(m.version)).c_str());
}

Status migrate_in_transaction(Connection& conn, int target) {
  RT_TRY(int current, schema_version(conn));
  if (current > latest_schema_version())
    return make_error(ErrorKind::unavailable,
                      "database " + conn.path() + " has schema version " + std::to_string(current) +
                          ", newer than this build of repotokens understands (" +
                          std::to_string(latest_schema_version()) + "); run a newer repotokensd");
  RT_TRY_STATUS(conn.execute_script(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
  for (const Migration& m : kMigrations)
    if (m.version > current && m.version <= target) RT_TRY_STATUS(apply(conn, m));
  return ok_status();
}

}  // namespace

int latest_schema_version() { return kMigrations.back().version; }

Result<int> schema_version(Connection& conn) {
  RT_TRY(auto v, conn.query_int64("PRAGMA user_version"));
  return static_cast<int>(v.value_or(0));
}

Status migrate(Connection& conn, int target) {
  if (target < 0) target = latest_schema_version();
  // IMMEDIATE: two processes opening a new file at once must not both run step 1.
  RT_TRY_STATUS(conn.execute_script("BEGIN IMMEDIATE"));
  Status st = migrate_in_transaction(conn, target);
  if (!st.ok()) {
    (void)conn.execute_script("ROLLBACK");
    return st;
  }
  Status commit = conn.execute_script("COMMIT");
  if (!commit.ok()) (void)conn.execute_script("ROLLBACK");
  return commit;
}

}  // namespace rt::sqlite
