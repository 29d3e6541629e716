// PostgreSQL store: what the web console needs beyond the v3 listings — its sessions (by hash of the
// session id, joined to the account token they were opened with, so that every node sees a sign-out or a
// revocation at once), per-repository token summaries for one page, and the tokens inside their
// organization's expiry warning window.
#include "store/postgres/pg_rows.h"
#include "store/postgres/postgres_store.h"

namespace rt::postgres {
namespace {

constexpr UnixTime kMaxWarningSeconds = static_cast<UnixTime>(kMaxTokenLifetimeDays) * 86400;

}  // namespace

Result<std::vector<RepositoryTokenSummary>> PostgresStore::summarize_repository_tokens(
    std::span<const Id> repository_ids, UnixTime now) {
  std::vector<RepositoryTokenSummary> out;
  if (repository_ids.empty()) return out;
  return read<std::vector<RepositoryTokenSummary>>([&](Connection& c) -> Result<std::vector<RepositoryTokenSummary>> {
    RT_TRY(Rows rows, c.exec("SELECT repository_id, count(*), min(expires_at) FROM repository_tokens"
                             " WHERE repository_id = ANY($1::bigint[]) AND expires_at > $2 GROUP BY repository_id",
                             {id_array(repository_ids), now}));
    for (int i = 0; i < rows.size(); ++i)
      out.push_back({rows.int64(i, 0), static_cast<int>(rows.int64(i, 1)), rows.optional_int64(i, 2)});
    return out;
  });
}

Result<Page<ExpiringToken>> PostgresStore::list_expiring_repository_tokens(const ExpiringTokenQuery& eq) {
  RT_TRY_STATUS(check_limit(eq.limit));
  Query q;
  std::string from =
      " FROM repository_tokens k JOIN repositories r ON r.id = k.repository_id"
      " JOIN organizations o ON o.id = r.org_id";
  if (eq.admin_user_id)
    from += " JOIN memberships m ON m.org_id = o.id AND m.user_id = " + q.bind(*eq.admin_user_id) +
            " AND m.role = 'admin'";
  // The fixed bound lets the expiry index narrow the walk; the organization's own window decides.
  const std::string now = q.bind(eq.now);
  from += " WHERE k.expires_at > " + now + " AND k.expires_at <= " + q.bind(eq.now + kMaxWarningSeconds) +
          " AND k.expires_at <= " + now + " + o.expiry_warning_days * 86400";
  Query count{"SELECT count(*)" + from, q.args};
  if (eq.after)
    from += " AND (k.expires_at, k.id) > (" + q.bind(eq.after->first) + ", " + q.bind(eq.after->second) + ")";
  q.sql = "SELECT " RT_PG_REPOSITORY_TOKEN_COLUMNS ", " RT_PG_REPOSITORY_COLUMNS ", o.expiry_warning_days" + from +
          " ORDER BY k.expires_at, k.id LIMIT " + q.bind(eq.limit + 1);
  return snapshot<Page<ExpiringToken>>([&](Connection& c) -> Result<Page<ExpiringToken>> {
    RT_TRY(Rows rows, c.exec(q.sql, q.args));
    auto page = make_page<ExpiringToken>(rows, eq.limit, [](const Rows& r, int i) {
      return ExpiringToken{read_repository_token(r, i), read_repository(r, i, kRepositoryTokenColumnCount),
                           static_cast<int>(r.int64(i, kRepositoryTokenColumnCount + kRepositoryColumnCount))};
    });
    RT_TRY(auto total, c.query_int64(count.sql, count.args));
    page.total = total.value_or(0);
    return page;
  });
}

Status PostgresStore::create_console_session(const ConsoleSession& s) {
  return write<Ok>([&](Connection& c) -> Status {
    // INSERT ... SELECT: no row when the token was revoked meanwhile (never a foreign-key error).
    RT_TRY(Rows r, c.exec("INSERT INTO console_sessions(hash, account_token_id, created_at, last_seen_at, expires_at)"
                          " SELECT $1, id, $3, $4, $5 FROM account_tokens WHERE id = $2",
                          {s.hash, s.account_token_id, s.created_at, s.last_seen_at, s.expires_at}));
    if (r.affected() == 0) return make_error(ErrorKind::not_found, "the account token was revoked");
    return ok_status();
  });
}

Result<ConsoleSessionOwner> PostgresStore::find_console_session(const SecretHash& hash) {
  return read<ConsoleSessionOwner>([&](Connection& c) -> Result<ConsoleSessionOwner> {
    RT_TRY(Rows rows, c.exec("SELECT s.account_token_id, s.created_at, s.last_seen_at, s.expires_at, "
                             RT_PG_ACCOUNT_TOKEN_COLUMNS ", " RT_PG_USER_COLUMNS
                             " FROM console_sessions s JOIN account_tokens t ON t.id = s.account_token_id"
                             " JOIN users u ON u.id = t.user_id WHERE s.hash = $1",
                             {hash}));
    if (rows.size() == 0) return make_error(ErrorKind::not_found, "no such console session");
    ConsoleSession session{.hash = hash,
                           .account_token_id = rows.int64(0, 0),
                           .created_at = rows.int64(0, 1),
                           .last_seen_at = rows.int64(0, 2),
                           .expires_at = rows.int64(0, 3)};
    return ConsoleSessionOwner{session, AccountTokenOwner{read_account_token(rows, 0, 4),
                                                          read_user(rows, 0, 4 + kAccountTokenColumnCount)}};
  });
}

Status PostgresStore::touch_console_session(const SecretHash& hash, UnixTime at) {
  return read<Ok>([&](Connection& c) -> Status {
    RT_TRY(Rows r, c.exec("UPDATE console_sessions SET last_seen_at = $2 WHERE hash = $1 AND last_seen_at < $2",
                          {hash, at}));
    return ok_status();
  });
}

Status PostgresStore::delete_console_session(const SecretHash& hash) {
  return read<Ok>([&](Connection& c) -> Status {
    RT_TRY(Rows r, c.exec("DELETE FROM console_sessions WHERE hash = $1", {hash}));
    return ok_status();
  });
}

Status PostgresStore::purge_console_sessions(UnixTime now, UnixTime idle_before) {
  return read<Ok>([&](Connection& c) -> Status {
    RT_TRY(Rows r, c.exec("DELETE FROM console_sessions WHERE expires_at <= $1 OR last_seen_at <= $2",
                          {now, idle_before}));
    return ok_status();
  });
}

}  // namespace rt::postgres
