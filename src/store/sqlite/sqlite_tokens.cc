// SQLite store: repository tokens (the live-token rules), batched last-use times, and the audit log.
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace rt::sqlite {

Result<RepositoryToken> SqliteStore::create_repository_token(const NewRepositoryToken& token, UnixTime now,
                                                             int max_live, const AuditEvent& audit) {
  return write<RepositoryToken>([&](Connection& c) -> Result<RepositoryToken> {
    // Check-then-insert is atomic: this body runs on the only writer, inside its transaction.
    RT_TRY(auto repo, c.query_int64("SELECT 1 FROM repositories WHERE id = ?1", {token.repository_id}));
    if (!repo) return not_found("no repository with id " + std::to_string(token.repository_id));
    RT_TRY(auto same_name, c.query_int64("SELECT 1 FROM repository_tokens"
                                         " WHERE repository_id = ?1 AND name = ?2 AND expires_at > ?3 LIMIT 1",
                                         {token.repository_id, token.name, now}));
    if (same_name)
      return live_token_name_taken(token.name);
    RT_TRY(auto live, c.query_int64("SELECT count(*) FROM repository_tokens WHERE repository_id = ?1 AND expires_at > ?2",
                                    {token.repository_id, now}));
    if (std::int64_t n = live.value_or(0); n >= max_live)
      return live_token_cap_reached(n, max_live);
    auto r = c.execute("INSERT INTO repository_tokens(repository_id, name, hash, created_at, expires_at, created_by,"
                       " ci_only) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       {token.repository_id, token.name, token.hash, token.created_at, token.expires_at,
                        audit.actor, token.ci_only});
    if (!r.ok()) return name_conflict(r.error(), "a token with this hash already exists");
    Id id = c.last_insert_id();
    RT_TRY_STATUS(insert_audit(c, audit));
    RT_TRY_STATUS(enqueue_repository_token_event(c, created_token_event(audit.action), token.repository_id, id, audit));
    return RepositoryToken{.id = id, .repository_id = token.repository_id, .name = token.name,
                           .created_at = token.created_at, .expires_at = token.expires_at, .last_used_at = {},
                           .created_by = audit.actor, .ci_only = token.ci_only};
  });
}

Result<RepositoryToken> SqliteStore::find_repository_token(const SecretHash& hash) {
  return read([&](Connection& c) -> Result<RepositoryToken> {
    RT_TRY(Rows rows, c.query("SELECT " RT_REPOSITORY_TOKEN_COLUMNS " FROM repository_tokens k WHERE k.hash = ?1",
                              {hash}));
    RT_TRY(bool has, rows.next());
    if (!has) return not_found("unknown repository token");
    return read_repository_token(rows);
  });
}

Result<Page<RepositoryToken>> SqliteStore::list_repository_tokens(Id repository_id, std::optional<Id> before_id,
                                                                  int limit) {
  RT_TRY_STATUS(check_limit(limit));
  return read([&](Connection& c) {
    return in_snapshot(c, [&](Connection& c) -> Result<Page<RepositoryToken>> {
      const char* sql = before_id ? "SELECT " RT_REPOSITORY_TOKEN_COLUMNS " FROM repository_tokens k"
                                    " WHERE k.repository_id = ?1 AND k.id < ?2 ORDER BY k.id DESC LIMIT ?3"
                                  : "SELECT " RT_REPOSITORY_TOKEN_COLUMNS " FROM repository_tokens k"
                                    " WHERE k.repository_id = ?1 ORDER BY k.id DESC LIMIT ?3";
      RT_TRY(Rows rows, c.query(sql, {repository_id, before_id, limit + 1}));
      RT_TRY(auto page,
             read_page<RepositoryToken>(rows, limit, [](const Rows& r) { return read_repository_token(r); }));
      RT_TRY(auto total, c.query_int64("SELECT count(*) FROM repository_tokens WHERE repository_id = ?1",
                                       {repository_id}));
      page.total = total.value_or(0);
      return page;
    });
  });
}

Result<int> SqliteStore::delete_repository_tokens(Id repository_id, std::span<const Id> ids, const AuditEvent& audit) {
  return write<int>([&](Connection& c) -> Result<int> {
    int deleted = 0;
    // Announced before the row goes (the event names it); no row, nothing announced.
    const std::string_view event = audit.action == "token.leaked" ? "token.leaked" : "token.revoked";
    for (Id id : ids) {
      RT_TRY_STATUS(enqueue_repository_token_event(c, event, repository_id, id, audit));
      RT_TRY(int n, c.execute("DELETE FROM repository_tokens WHERE id = ?1 AND repository_id = ?2", {id, repository_id}));
      deleted += n;
    }
    // The log shows what happened: nothing deleted, nothing to record.
    if (deleted > 0) RT_TRY_STATUS(insert_audit(c, audit));
    return deleted;
  });
}

Result<int> SqliteStore::purge_expired_ci_tokens(UnixTime expired_before, int limit) {
  return write<int>([&](Connection& c) -> Result<int> {
    return c.execute("DELETE FROM repository_tokens WHERE id IN (SELECT id FROM repository_tokens"
                     " WHERE expires_at < ?1 AND ci_only = 1 ORDER BY expires_at LIMIT ?2)",
                     {expired_before, static_cast<std::int64_t>(limit)});
  });
}

Status SqliteStore::record_last_use(std::span<const LastUse> uses) {
  if (uses.empty()) return ok_status();
  return write<Ok>([&](Connection& c) -> Status {
    for (const LastUse& use : uses) {
      // Never moves backwards: batches from several server threads may arrive out of order.
      const char* sql = use.kind == TokenKind::repository
                            ? "UPDATE repository_tokens SET last_used_at = ?2"
                              " WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)"
                            : "UPDATE account_tokens SET last_used_at = ?2"
                              " WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)";
      RT_TRY(int changed, c.execute(sql, {use.token_id, use.at}));
      (void)changed;
    }
    return ok_status();
  });
}

Status SqliteStore::append_audit(const AuditEvent& event) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY_STATUS(insert_audit(c, event));
    return enqueue_account_token_event(c, event);
  });
}

Result<Page<AuditEvent>> SqliteStore::list_audit(const AuditQuery& q) {
  RT_TRY_STATUS(check_limit(q.limit));
  // Values bind views: the texts they point into live as long as the query.
  const std::string actor_pattern = like_pattern(q.actor);
  const std::string token_targets = q.repository + "#";
  std::vector<Value> args{q.org_id};
  std::string filter = " FROM audit_events a WHERE a.org_id = ?";
  if (q.from) {
    filter += " AND a.at >= ?";
    args.emplace_back(*q.from);
  }
  if (q.to) {
    filter += " AND a.at <= ?";
    args.emplace_back(*q.to);
  }
  if (!q.action.empty()) {
    filter += " AND a.action = ?";
    args.emplace_back(q.action);
  }
  if (!q.actor.empty()) {
    filter += " AND a.actor LIKE ? ESCAPE '\\'";
    args.emplace_back(actor_pattern);
  }
  if (!q.repository.empty()) {
    // substr rather than LIKE: a repository path may hold % or _.
    filter += " AND (a.target = ? OR substr(a.target, 1, ?) = ?)";
    args.emplace_back(q.repository);
    args.emplace_back(static_cast<std::int64_t>(q.repository.size() + 1));
    args.emplace_back(token_targets);
  }
  std::string count_sql = "SELECT count(*)" + filter;
  std::vector<Value> count_args = args;
  if (q.before_id) {
    filter += " AND a.id < ?";
    args.emplace_back(*q.before_id);
  }
  std::string page_sql = "SELECT " RT_AUDIT_COLUMNS + filter + " ORDER BY a.id DESC LIMIT ?";
  args.emplace_back(q.limit + 1);
  return read([&](Connection& c) {
    return in_snapshot(c, [&](Connection& c) -> Result<Page<AuditEvent>> {
      RT_TRY(Rows rows, c.query(page_sql, args));
      RT_TRY(auto page, read_page<AuditEvent>(rows, q.limit, [](const Rows& r) { return read_audit_event(r); }));
      RT_TRY(auto total, c.query_int64(count_sql, count_args));
      page.total = total.value_or(0);
      return page;
    });
  });
}

}  // namespace rt::sqlite
