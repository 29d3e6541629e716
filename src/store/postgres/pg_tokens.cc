// PostgreSQL store: repository tokens (the live-token rules under concurrency), batched last-use times,
// and the audit log.
#include <algorithm>
#include <map>

#include "store/postgres/pg_rows.h"
#include "store/encodings.h"
#include "store/postgres/postgres_store.h"

namespace rt::postgres {
namespace {

std::string live_limit_message(std::int64_t n, int max_live) {
  return n == max_live ? "repository already has " + std::to_string(max_live) +
                             " live tokens, the maximum; revoke one first"
                       : "repository has " + std::to_string(n) + " live tokens, the maximum is " +
                             std::to_string(max_live) + "; revoke one first";
}

}  // namespace

Result<RepositoryToken> PostgresStore::create_repository_token(const NewRepositoryToken& token, UnixTime now,
                                                               int max_live, const AuditEvent& audit) {
  // One round trip: the lock and the insert go out together as one pipeline, which is one implicit
  // transaction (store/postgres/connection.h). Creators of tokens on one repository queue on its row,
  // whichever node they run on. The check is a separate statement on purpose: under READ COMMITTED each
  // statement takes a fresh snapshot, so once the lock is ours the insert sees every token committed by
  // the previous holder. (A subquery in the locking statement itself would keep the snapshot taken before
  // the wait.) NO KEY UPDATE does not block the foreign-key checks of unrelated inserts that reference the
  // repository. The insert writes its audit row too; no row back means a rule refused it.
  static constexpr const char* kLock = "SELECT 1 FROM repositories WHERE id = $1 FOR NO KEY UPDATE";
  static constexpr const char* kInsert =
      "WITH t AS (INSERT INTO repository_tokens(repository_id, name, hash, created_at, expires_at, created_by,"
      " ci_only) SELECT $1::bigint, $2::text, $3::bytea, $4::bigint, $5::bigint, $11::text, $15::boolean"
      " WHERE EXISTS (SELECT 1 FROM repositories WHERE id = $1)"
      " AND NOT EXISTS (SELECT 1 FROM repository_tokens WHERE repository_id = $1 AND name = $2 AND expires_at > $6)"
      " AND (SELECT count(*) FROM repository_tokens WHERE repository_id = $1 AND expires_at > $6) < $7::bigint"
      " RETURNING id),"
      " a AS (INSERT INTO audit_events(org_id, at, actor_user_id, actor, action, target, details)"
      " SELECT $8::bigint, $9::bigint, $10::bigint, $11::text, $12::text, $13::text, $14::text FROM t)"
      " SELECT id FROM t";
  // The outbox rows, in the same implicit transaction: the token the insert made (none if it refused) is
  // the one with this hash.
  const std::string events = std::string(kRepositoryTokenEventInsert) + "k.hash = $6::bytea ORDER BY w.id";
  auto done = pool_->run<std::vector<Rows>>([&](Connection& c) {
    return c.pipeline({{kLock, {token.repository_id}},
                       {kInsert,
                        {token.repository_id, token.name, token.hash, token.created_at, token.expires_at, now,
                         max_live, audit.org_id, audit.at, audit.actor_user_id, audit.actor, audit.action,
                         audit.target, audit.details, token.ci_only}},
                       {events.c_str(),
                        {new_webhook_event_id_prefix(), created_token_event(audit.action), audit.at, audit.actor,
                         token.repository_id, token.hash}}});
  });
  if (!done.ok()) return name_conflict(done.error(), "a token with this hash already exists");
  const std::vector<Rows>& rows = *done;
  if (rows[0].size() == 0) return not_found("no repository with id " + std::to_string(token.repository_id));
  if (rows[1].size() == 0) {
    // Refused: say which rule, from a fresh look (nothing was written).
    return read<RepositoryToken>([&](Connection& c) -> Result<RepositoryToken> {
      RT_TRY(Rows rules, c.exec("SELECT count(*), count(*) FILTER (WHERE name = $2) FROM repository_tokens"
                                " WHERE repository_id = $1 AND expires_at > $3",
                                {token.repository_id, token.name, now}));
      if (rules.int64(0, 1) > 0)
        return make_error(ErrorKind::conflict,
                          "a live token named " + token.name + " already exists on this repository");
      return make_error(ErrorKind::conflict, live_limit_message(rules.int64(0, 0), max_live));
    });
  }
  return RepositoryToken{.id = rows[1].int64(0, 0), .repository_id = token.repository_id, .name = token.name,
                         .created_at = token.created_at, .expires_at = token.expires_at, .last_used_at = {},
                         .created_by = audit.actor, .ci_only = token.ci_only};
}

Result<RepositoryToken> PostgresStore::find_repository_token(const SecretHash& hash) {
  return read<RepositoryToken>([&](Connection& c) -> Result<RepositoryToken> {
    RT_TRY(Rows rows, c.exec("SELECT " RT_PG_REPOSITORY_TOKEN_COLUMNS " FROM repository_tokens k WHERE k.hash = $1",
                             {hash}));
    if (rows.size() == 0) return not_found("unknown repository token");
    return read_repository_token(rows, 0);
  });
}

Result<Page<RepositoryToken>> PostgresStore::list_repository_tokens(Id repository_id, std::optional<Id> before_id,
                                                                    int limit) {
  RT_TRY_STATUS(check_limit(limit));
  return snapshot<Page<RepositoryToken>>([&](Connection& c) -> Result<Page<RepositoryToken>> {
    RT_TRY(Rows rows, before_id ? c.exec("SELECT " RT_PG_REPOSITORY_TOKEN_COLUMNS " FROM repository_tokens k"
                                         " WHERE k.repository_id = $1 AND k.id < $2 ORDER BY k.id DESC LIMIT $3",
                                         {repository_id, *before_id, limit + 1})
                                : c.exec("SELECT " RT_PG_REPOSITORY_TOKEN_COLUMNS " FROM repository_tokens k"
                                         " WHERE k.repository_id = $1 ORDER BY k.id DESC LIMIT $2",
                                         {repository_id, limit + 1}));
    auto page =
        make_page<RepositoryToken>(rows, limit, [](const Rows& r, int i) { return read_repository_token(r, i); });
    RT_TRY(auto total, c.query_int64("SELECT count(*) FROM repository_tokens WHERE repository_id = $1",
                                     {repository_id}));
    page.total = total.value_or(0);
    return page;
  });
}

Result<int> PostgresStore::delete_repository_tokens(Id repository_id, std::span<const Id> ids,
                                                    const AuditEvent& audit) {
  std::vector<Id> list(ids.begin(), ids.end());
  // Announced before the rows go (the events name them); no row, nothing announced.
  const std::string events = std::string(kRepositoryTokenEventInsert) + "k.id = ANY($6::bigint[]) ORDER BY k.id, w.id";
  const char* event = audit.action == "token.leaked" ? "token.leaked" : "token.revoked";
  return write<int>([&](Connection& c) -> Result<int> {
    RT_TRY(Rows announced, c.exec(events, {new_webhook_event_id_prefix(), event, audit.at, audit.actor, repository_id,
                                           id_array(list)}));
    (void)announced;
    RT_TRY(Rows r, c.exec("DELETE FROM repository_tokens WHERE repository_id = $1 AND id = ANY($2::bigint[])",
                          {repository_id, id_array(list)}));
    if (r.affected() > 0) RT_TRY_STATUS(insert_audit(c, audit));  // nothing deleted, nothing to record
    return r.affected();
  });
}

Result<int> PostgresStore::purge_expired_ci_tokens(UnixTime expired_before, int limit) {
  return write<int>([&](Connection& c) -> Result<int> {
    RT_TRY(Rows r, c.exec("DELETE FROM repository_tokens WHERE id IN (SELECT id FROM repository_tokens"
                          " WHERE expires_at < $1 AND ci_only ORDER BY expires_at LIMIT $2)",
                          {expired_before, static_cast<std::int64_t>(limit)}));
    return r.affected();
  });
}

Status PostgresStore::record_last_use(std::span<const LastUse> uses) {
  if (uses.empty()) return ok_status();
  // The latest time per token, ids ascending: one UPDATE per kind, and nodes flushing overlapping batches
  // lock rows in the same order. A time never moves backwards, whichever node's batch lands last.
  std::map<Id, UnixTime> latest[2];
  for (const LastUse& u : uses) {
    UnixTime& at = latest[u.kind == TokenKind::repository][u.token_id];
    at = std::max(at, u.at);
  }
  return write<Ok>([&](Connection& c) -> Status {
    for (int kind = 0; kind < 2; ++kind) {
      if (latest[kind].empty()) continue;
      std::vector<Id> ids, times;
      for (auto [id, at] : latest[kind]) {
        ids.push_back(id);
        times.push_back(at);
      }
      const char* sql = kind == 1 ? "UPDATE repository_tokens t SET last_used_at = u.at"
                                    " FROM unnest($1::bigint[], $2::bigint[]) AS u(id, at)"
                                    " WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)"
                                  : "UPDATE account_tokens t SET last_used_at = u.at"
                                    " FROM unnest($1::bigint[], $2::bigint[]) AS u(id, at)"
                                    " WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)";
      RT_TRY(Rows r, c.exec(sql, {id_array(ids), id_array(times)}));
      (void)r;
    }
    return ok_status();
  });
}

Status PostgresStore::append_audit(const AuditEvent& event) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY_STATUS(insert_audit(c, event));
    return enqueue_account_token_event(c, event);
  });
}

Result<Page<AuditEvent>> PostgresStore::list_audit(const AuditQuery& aq) {
  RT_TRY_STATUS(check_limit(aq.limit));
  Query q;
  std::string filter = " FROM audit_events a WHERE a.org_id = " + q.bind(aq.org_id);
  if (aq.from) filter += " AND a.at >= " + q.bind(*aq.from);
  if (aq.to) filter += " AND a.at <= " + q.bind(*aq.to);
  if (!aq.action.empty()) filter += " AND a.action = " + q.bind(aq.action);
  if (!aq.actor.empty()) filter += " AND a.actor ILIKE " + q.bind(like_pattern(aq.actor)) + " ESCAPE '\\'";
  if (!aq.repository.empty()) {
    // left() rather than LIKE: a repository path may hold % or _.
    filter += " AND (a.target = " + q.bind(aq.repository) + " OR left(a.target, " +
              q.bind(static_cast<std::int64_t>(aq.repository.size() + 1)) + ") = " + q.bind(aq.repository + "#") + ")";
  }
  Query count{"SELECT count(*)" + filter, q.args};
  if (aq.before_id) filter += " AND a.id < " + q.bind(*aq.before_id);
  q.sql = "SELECT " RT_PG_AUDIT_COLUMNS + filter + " ORDER BY a.id DESC LIMIT ";
  q.sql += q.bind(aq.limit + 1);
  return snapshot<Page<AuditEvent>>([&](Connection& c) -> Result<Page<AuditEvent>> {
    RT_TRY(Rows rows, c.exec(q.sql, q.args));
    auto page = make_page<AuditEvent>(rows, aq.limit, [](const Rows& r, int i) { return read_audit_event(r, i); });
    RT_TRY(auto total, c.query_int64(count.sql, count.args));
    page.total = total.value_or(0);
    return page;
  });
}

}  // namespace rt::postgres
