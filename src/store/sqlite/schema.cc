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
  // Rebuilds tables that others reference: runs with foreign keys off (DROP TABLE would otherwise delete
  // the rows that reference it, ON DELETE CASCADE), and is checked with foreign_key_check before commit.
  bool rebuilds_tables = false;
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
    // Ids are never reused (docs/design.md "Ids are never reused"): without AUTOINCREMENT SQLite hands out
    // max(id)+1, so revoking the newest token made its id the next one's. SQLite cannot add AUTOINCREMENT to
    // a table, so each table with an id is rebuilt (the documented create-copy-drop-rename procedure, with
    // foreign keys off for the step: see migrate()) keeping every id; copying explicit ids sets each table's
    // sqlite_sequence to its largest id. Ids deleted above the largest remaining one before this step left no
    // trace and can still be handed out once more; every id deleted from now on is gone for good.
    Migration{4, "ids are never reused (AUTOINCREMENT)", R"sql(
CREATE TABLE new_users (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT NOT NULL UNIQUE,
  email      TEXT,
  is_admin   INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
INSERT INTO new_users(id, name, email, is_admin, created_at) SELECT id, name, email, is_admin, created_at FROM users;
DROP TABLE users;
ALTER TABLE new_users RENAME TO users;

CREATE TABLE new_account_tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  hash         BLOB NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  last_used_at INTEGER
);
INSERT INTO new_account_tokens(id, user_id, hash, created_at, expires_at, last_used_at)
  SELECT id, user_id, hash, created_at, expires_at, last_used_at FROM account_tokens;
DROP TABLE account_tokens;
ALTER TABLE new_account_tokens RENAME TO account_tokens;
CREATE INDEX account_tokens_by_user ON account_tokens(user_id, id);

CREATE TABLE new_organizations (
  id                    INTEGER PRIMARY KEY AUTOINCREMENT,
  provider              TEXT NOT NULL,
  name                  TEXT NOT NULL,
  remote_identifier     TEXT NOT NULL,
  type                  TEXT NOT NULL,
  created_at            INTEGER NOT NULL,
  default_lifetime_days INTEGER NOT NULL,
  max_lifetime_days     INTEGER NOT NULL,
  UNIQUE (provider, name)
);
INSERT INTO new_organizations(id, provider, name, remote_identifier, type, created_at, default_lifetime_days,
                              max_lifetime_days)
  SELECT id, provider, name, remote_identifier, type, created_at, default_lifetime_days, max_lifetime_days
  FROM organizations;
DROP TABLE organizations;
ALTER TABLE new_organizations RENAME TO organizations;

CREATE TABLE new_repositories (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id            INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name              TEXT NOT NULL,
  visibility        TEXT NOT NULL,
  remote_identifier TEXT NOT NULL,
  languages         TEXT NOT NULL DEFAULT '[]',
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  UNIQUE (org_id, name)
);
INSERT INTO new_repositories(id, org_id, name, visibility, remote_identifier, languages, created_at, updated_at)
  SELECT id, org_id, name, visibility, remote_identifier, languages, created_at, updated_at FROM repositories;
DROP TABLE repositories;
ALTER TABLE new_repositories RENAME TO repositories;

CREATE TABLE new_repository_tokens (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  hash          BLOB NOT NULL UNIQUE,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  last_used_at  INTEGER
);
INSERT INTO new_repository_tokens(id, repository_id, name, hash, created_at, expires_at, last_used_at)
  SELECT id, repository_id, name, hash, created_at, expires_at, last_used_at FROM repository_tokens;
DROP TABLE repository_tokens;
ALTER TABLE new_repository_tokens RENAME TO repository_tokens;
CREATE INDEX repository_tokens_by_repository ON repository_tokens(repository_id, id);
CREATE INDEX repository_tokens_live ON repository_tokens(repository_id, expires_at);
CREATE INDEX repository_tokens_by_name ON repository_tokens(repository_id, name, expires_at);

CREATE TABLE new_audit_events (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id        INTEGER,
  at            INTEGER NOT NULL,
  actor_user_id INTEGER,
  actor         TEXT NOT NULL,
  action        TEXT NOT NULL,
  target        TEXT NOT NULL,
  details       TEXT NOT NULL
);
INSERT INTO new_audit_events(id, org_id, at, actor_user_id, actor, action, target, details)
  SELECT id, org_id, at, actor_user_id, actor, action, target, details FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE new_audit_events RENAME TO audit_events;
CREATE INDEX audit_events_by_org ON audit_events(org_id, id);

CREATE TABLE new_coverage_reports (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO new_coverage_reports(id, repository_id, commit_sha, language, final, files, covered, coverable, data,
                                 created_at, updated_at)
  SELECT id, repository_id, commit_sha, language, final, files, covered, coverable, data, created_at, updated_at
  FROM coverage_reports;
DROP TABLE coverage_reports;
ALTER TABLE new_coverage_reports RENAME TO coverage_reports;

CREATE TABLE new_coverage_uploads (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO new_coverage_uploads(id, repository_id, commit_sha, language, status, reason, files, covered, coverable,
                                 bytes, at)
  SELECT id, repository_id, commit_sha, language, status, reason, files, covered, coverable, bytes, at
  FROM coverage_uploads;
DROP TABLE coverage_uploads;
ALTER TABLE new_coverage_uploads RENAME TO coverage_uploads;
CREATE INDEX coverage_uploads_by_repository ON coverage_uploads(repository_id, id);
CREATE INDEX coverage_uploads_by_commit ON coverage_uploads(repository_id, commit_sha, status);
)sql", true},
    // The web console: sessions (only a hash of the session id is stored; a session dies with the account
    // token it was opened with), who created each repository token, and each organization's expiry
    // warning window, with the index the "expiring soon" view walks.
    Migration{5, "console sessions, token creators, expiry warning window", R"sql(
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
    // pagination.total of an organization's repository listing without a text or language filter, read
    // from here instead of a count(*) that grows with the organization. Kept by triggers in the same
    // transaction as every insert and delete; a group reaching 0 disappears, so the table holds exactly
    // what `SELECT org_id, visibility, count(*) FROM repositories GROUP BY 1, 2` would (admin copy relies
    // on that). Derived data: admin copy does not copy it, the target's own triggers rebuild it.
    Migration{6, "repository counts per organization and visibility", R"sql(
CREATE TABLE repository_counts (
  org_id       INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  visibility   TEXT NOT NULL,
  repositories INTEGER NOT NULL,
  PRIMARY KEY (org_id, visibility)
) WITHOUT ROWID;
INSERT INTO repository_counts(org_id, visibility, repositories)
  SELECT org_id, visibility, count(*) FROM repositories GROUP BY org_id, visibility;
CREATE TRIGGER repository_counts_insert AFTER INSERT ON repositories BEGIN
  INSERT INTO repository_counts(org_id, visibility, repositories) VALUES (NEW.org_id, NEW.visibility, 1)
    ON CONFLICT(org_id, visibility) DO UPDATE SET repositories = repositories + 1;
END;
CREATE TRIGGER repository_counts_delete AFTER DELETE ON repositories BEGIN
  UPDATE repository_counts SET repositories = repositories - 1 WHERE org_id = OLD.org_id AND visibility = OLD.visibility;
  DELETE FROM repository_counts WHERE org_id = OLD.org_id AND visibility = OLD.visibility AND repositories <= 0;
END;
CREATE TRIGGER repository_counts_update AFTER UPDATE OF org_id, visibility ON repositories BEGIN
  UPDATE repository_counts SET repositories = repositories - 1 WHERE org_id = OLD.org_id AND visibility = OLD.visibility;
  DELETE FROM repository_counts WHERE org_id = OLD.org_id AND visibility = OLD.visibility AND repositories <= 0;
  INSERT INTO repository_counts(org_id, visibility, repositories) VALUES (NEW.org_id, NEW.visibility, 1)
    ON CONFLICT(org_id, visibility) DO UPDATE SET repositories = repositories + 1;
END;
)sql"},
    // Organization webhooks and their outbox (docs/webhooks.md). An event row is written in the same
    // transaction as the token change it announces; next_attempt_at is NULL once delivered or given up, so
    // the partial index holds only the work still to do.
    Migration{7, "organization webhooks and their event outbox", R"sql(
CREATE TABLE webhooks (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  org_id        INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  url           TEXT NOT NULL,
  events        TEXT NOT NULL,
  secret_sealed TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  failing       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_by_org ON webhooks(org_id, id);
CREATE TABLE webhook_events (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id      INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  event_id        TEXT NOT NULL,
  delivery_id     TEXT NOT NULL UNIQUE,
  event           TEXT NOT NULL,
  body            TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_attempt_at INTEGER,
  last_status     INTEGER,
  last_error      TEXT NOT NULL DEFAULT '',
  last_latency_ms INTEGER,
  delivered_at    INTEGER
);
CREATE INDEX webhook_events_due ON webhook_events(next_attempt_at, id) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_events_by_webhook ON webhook_events(webhook_id, id);
CREATE INDEX webhook_events_pending_by_webhook ON webhook_events(webhook_id, id) WHERE next_attempt_at IS NOT NULL;
)sql"},
    // Secretless CI (API.md): each repository's trust rules, the JWT ids already exchanged (kept until
    // the JWT's own expiry, so a replay is refused), and the mark on tokens an exchange issued.
    Migration{8, "CI trust rules, exchanged JWT ids, CI-only tokens", R"sql(
CREATE TABLE ci_trust_rules (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  repository_id    INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  issuer           TEXT NOT NULL,
  audience         TEXT NOT NULL DEFAULT '',
  claims           TEXT NOT NULL,
  lifetime_minutes INTEGER NOT NULL,
  binds_only_names INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  created_by       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ci_trust_rules_by_repository ON ci_trust_rules(repository_id, id);
CREATE INDEX ci_trust_rules_by_issuer ON ci_trust_rules(issuer, id);
CREATE TABLE ci_jti (
  issuer     TEXT NOT NULL,
  jti        TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (issuer, jti)
) WITHOUT ROWID;
CREATE INDEX ci_jti_by_expiry ON ci_jti(expires_at);
ALTER TABLE repository_tokens ADD COLUMN ci_only INTEGER NOT NULL DEFAULT 0;
)sql"},
    // Expiry notices (docs/webhooks.md): each token's next notice time (store/expiry_notice.h). A token not
    // yet looked at (NULL) is found by its expiry time, the others by that time, each through a partial
    // index holding only what is still to announce; tokens already expired at this upgrade say nothing.
    Migration{9, "expiry notice times of tokens", R"sql(
ALTER TABLE repository_tokens ADD COLUMN expiry_notice_at INTEGER;
ALTER TABLE account_tokens ADD COLUMN expiry_notice_at INTEGER;
UPDATE repository_tokens SET expiry_notice_at = 0 WHERE expires_at <= unixepoch();
UPDATE account_tokens SET expiry_notice_at = 0 WHERE expires_at <= unixepoch();
CREATE INDEX repository_tokens_unnoticed_by_expiry ON repository_tokens(expires_at) WHERE expiry_notice_at IS NULL;
CREATE INDEX repository_tokens_notice_due ON repository_tokens(expiry_notice_at) WHERE expiry_notice_at > 0;
CREATE INDEX account_tokens_unnoticed_by_expiry ON account_tokens(expires_at)
  WHERE expiry_notice_at IS NULL AND expires_at IS NOT NULL;
CREATE INDEX account_tokens_notice_due ON account_tokens(expiry_notice_at) WHERE expiry_notice_at > 0;
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

// A rebuilt table must leave every reference as it found it.
Status check_foreign_keys(Connection& conn) {
  RT_TRY(auto broken, conn.query_int64("SELECT count(*) FROM pragma_foreign_key_check"));
  if (broken.value_or(0) == 0) return ok_status();
  return make_error(ErrorKind::internal, "migration of " + conn.path() + " would leave " + std::to_string(*broken) +
                                             " rows referring to missing rows; nothing was changed");
}

Status migrate_in_transaction(Connection& conn, int target, bool& rebuilt) {
  RT_TRY(int current, schema_version(conn));
  if (current > latest_schema_version())
    return make_error(ErrorKind::unavailable,
                      "database " + conn.path() + " has schema version " + std::to_string(current) +
                          ", newer than this build of repotokens understands (" +
                          std::to_string(latest_schema_version()) + "); run a newer repotokensd");
  RT_TRY_STATUS(conn.execute_script(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
  for (const Migration& m : kMigrations) {
    if (m.version <= current || m.version > target) continue;
    RT_TRY_STATUS(apply(conn, m));
    rebuilt = rebuilt || m.rebuilds_tables;
  }
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
  // Foreign keys are off while migrating (a rebuilt table's DROP would otherwise cascade); PRAGMA
  // foreign_keys is a no-op inside a transaction, so it is switched before it, and on again after, always.
  RT_TRY_STATUS(conn.execute_script("PRAGMA foreign_keys=OFF"));
  // IMMEDIATE: two processes opening a new file at once must not both run step 1.
  Status st = conn.execute_script("BEGIN IMMEDIATE");
  if (st.ok()) {
    bool rebuilt = false;
    st = migrate_in_transaction(conn, target, rebuilt);
    if (st.ok() && rebuilt) st = check_foreign_keys(conn);
    if (st.ok()) st = conn.execute_script("COMMIT");
    if (!st.ok()) (void)conn.execute_script("ROLLBACK");
  }
  Status on = conn.execute_script("PRAGMA foreign_keys=ON");
  return st.ok() ? on : st;
}

}  // namespace rt::sqlite
