// SQLite store: what the web console needs beyond the v3 listings — its sessions (by hash of the session
// id, joined to the account token they were opened with), per-repository token summaries for one page of
// repositories, and the tokens inside their organization's expiry warning window.
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace rt::sqlite {
namespace {

constexpr UnixTime kMaxWarningSeconds = static_cast<UnixTime>(kMaxTokenLifetimeDays) * 86400;

}  // namespace

Result<std::vector<RepositoryTokenSummary>> SqliteStore::summarize_repository_tokens(
    std::span<const Id> repository_ids, UnixTime now) {
  std::vector<RepositoryTokenSummary> out;
  if (repository_ids.empty()) return out;
  std::string sql =
      "SELECT repository_id, count(*), min(expires_at) FROM repository_tokens WHERE expires_at > ? AND repository_id IN (";
  std::vector<Value> args{now};
  for (size_t i = 0; i < repository_ids.size(); ++i) {
    sql += i ? ",?" : "?";
    args.emplace_back(repository_ids[i]);
  }
  sql += ") GROUP BY repository_id";
  return read([&](Connection& c) -> Result<std::vector<RepositoryTokenSummary>> {
    RT_TRY(Rows rows, c.query(sql, args));
    for (;;) {
      RT_TRY(bool has, rows.next());
      if (!has) return out;
      out.push_back({rows.int64(0), static_cast<int>(rows.int64(1)), rows.optional_int64(2)});
    }
  });
}

Result<Page<ExpiringToken>> SqliteStore::list_expiring_repository_tokens(const ExpiringTokenQuery& q) {
  RT_TRY_STATUS(check_limit(q.limit));
  std::vector<Value> args{q.now, q.now + kMaxWarningSeconds, q.now};
  std::string from =
      " FROM repository_tokens k JOIN repositories r ON r.id = k.repository_id"
      " JOIN organizations o ON o.id = r.org_id";
  if (q.admin_user_id) {
    from += " JOIN memberships m ON m.org_id = o.id AND m.user_id = ? AND m.role = 'admin'";
    args.insert(args.begin(), *q.admin_user_id);
  }
  // The fixed bound lets the expiry index narrow the walk; the organization's own window decides.
  from += " WHERE k.expires_at > ? AND k.expires_at <= ? AND k.expires_at <= ? + o.expiry_warning_days * 86400";
  std::vector<Value> count_args = args;
  std::string page_from = from;
  if (q.after) {
    page_from += " AND (k.expires_at, k.id) > (?, ?)";
    args.emplace_back(q.after->first);
    args.emplace_back(q.after->second);
  }
  args.emplace_back(q.limit + 1);
  const std::string page_sql = "SELECT " RT_REPOSITORY_TOKEN_COLUMNS ", " RT_REPOSITORY_COLUMNS
                               ", o.expiry_warning_days" + page_from + " ORDER BY k.expires_at, k.id LIMIT ?";
  const std::string count_sql = "SELECT count(*)" + from;
  return read([&](Connection& c) {
    return in_snapshot(c, [&](Connection& c) -> Result<Page<ExpiringToken>> {
      RT_TRY(Rows rows, c.query(page_sql, args));
      RT_TRY(auto page, read_page<ExpiringToken>(rows, q.limit, [](const Rows& r) {
               return ExpiringToken{read_repository_token(r), read_repository(r, kRepositoryTokenColumnCount),
                                    static_cast<int>(r.int64(kRepositoryTokenColumnCount + kRepositoryColumnCount))};
             }));
      RT_TRY(auto total, c.query_int64(count_sql, count_args));
      page.total = total.value_or(0);
      return page;
    });
  });
}

Status SqliteStore::create_console_session(const ConsoleSession& s) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(auto token, c.query_int64("SELECT 1 FROM account_tokens WHERE id = ?1", {s.account_token_id}));
    if (!token) return not_found("the account token was revoked");
    RT_TRY(int added, c.execute("INSERT INTO console_sessions(hash, account_token_id, created_at, last_seen_at,"
                                " expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                                {s.hash, s.account_token_id, s.created_at, s.last_seen_at, s.expires_at}));
    (void)added;
    return ok_status();
  });
}

Result<ConsoleSessionOwner> SqliteStore::find_console_session(const SecretHash& hash) {
  return read([&](Connection& c) -> Result<ConsoleSessionOwner> {
    RT_TRY(Rows rows, c.query("SELECT s.account_token_id, s.created_at, s.last_seen_at, s.expires_at, "
                              RT_ACCOUNT_TOKEN_COLUMNS ", " RT_USER_COLUMNS
                              " FROM console_sessions s JOIN account_tokens t ON t.id = s.account_token_id"
                              " JOIN users u ON u.id = t.user_id WHERE s.hash = ?1",
                              {hash}));
    RT_TRY(bool has, rows.next());
    if (!has) return not_found("no such console session");
    ConsoleSession session{.hash = hash,
                           .account_token_id = rows.int64(0),
                           .created_at = rows.int64(1),
                           .last_seen_at = rows.int64(2),
                           .expires_at = rows.int64(3)};
    return ConsoleSessionOwner{session,
                               AccountTokenOwner{read_account_token(rows, 4),
                                                 read_user(rows, 4 + kAccountTokenColumnCount)}};
  });
}

Status SqliteStore::touch_console_session(const SecretHash& hash, UnixTime at) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(int changed, c.execute("UPDATE console_sessions SET last_seen_at = ?2 WHERE hash = ?1 AND last_seen_at < ?2",
                                  {hash, at}));
    (void)changed;
    return ok_status();
  });
}

Status SqliteStore::delete_console_session(const SecretHash& hash) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(int deleted, c.execute("DELETE FROM console_sessions WHERE hash = ?1", {hash}));
    (void)deleted;
    return ok_status();
  });
}

Status SqliteStore::purge_console_sessions(UnixTime now, UnixTime idle_before) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(int deleted, c.execute("DELETE FROM console_sessions WHERE expires_at <= ?1 OR last_seen_at <= ?2",
                                  {now, idle_before}));
    (void)deleted;
    return ok_status();
  });
}

}  // namespace rt::sqlite
