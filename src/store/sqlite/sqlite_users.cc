// SQLite store: users and their account tokens.
#include "store/sqlite/rows.h"
#include "store/sqlite/sqlite_store.h"

namespace rt::sqlite {

Result<User> SqliteStore::create_user(const NewUser& user) {
  return write<User>([&](Connection& c) -> Result<User> {
    auto r = c.execute("INSERT INTO users(name, email, is_admin, created_at) VALUES (?1, ?2, ?3, ?4)",
                       {user.name, user.email, user.is_admin, user.created_at});
    if (!r.ok()) return name_conflict(r.error(), "a user named " + user.name + " already exists");
    return User{.id = c.last_insert_id(),
                .name = user.name,
                .email = user.email,
                .is_admin = user.is_admin,
                .created_at = user.created_at};
  });
}

Result<User> SqliteStore::get_user(Id user_id) {
  return read([&](Connection& c) -> Result<User> {
    RT_TRY(Rows rows, c.query("SELECT " RT_USER_COLUMNS " FROM users u WHERE u.id = ?1", {user_id}));
    RT_TRY(bool has, rows.next());
    if (!has) return not_found("no user with id " + std::to_string(user_id));
    return read_user(rows);
  });
}

Result<std::vector<User>> SqliteStore::find_users_by_email(const std::string& email) {
  return read([&](Connection& c) -> Result<std::vector<User>> {
    // SQLite's lower() folds ASCII only, which is what the contract promises.
    RT_TRY(Rows rows, c.query("SELECT " RT_USER_COLUMNS " FROM users u WHERE lower(u.email) = ?1 ORDER BY u.id",
                              {email}));
    std::vector<User> out;
    for (;;) {
      RT_TRY(bool has, rows.next());
      if (!has) break;
      out.push_back(read_user(rows));
    }
    return out;
  });
}

Result<AccountToken> SqliteStore::create_account_token(Id user_id, const SecretHash& hash, UnixTime created_at,
                                                       std::optional<UnixTime> expires_at) {
  return write<AccountToken>([&](Connection& c) -> Result<AccountToken> {
    RT_TRY_STATUS(user_exists(c, user_id));
    auto r = c.execute("INSERT INTO account_tokens(user_id, hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                       {user_id, hash, created_at, expires_at});
    if (!r.ok()) return name_conflict(r.error(), "an account token with this hash already exists");
    return AccountToken{.id = c.last_insert_id(), .user_id = user_id, .created_at = created_at,
                        .expires_at = expires_at, .last_used_at = std::nullopt};
  });
}

Result<AccountTokenOwner> SqliteStore::find_account_token(const SecretHash& hash) {
  return read([&](Connection& c) -> Result<AccountTokenOwner> {
    RT_TRY(Rows rows, c.query("SELECT " RT_ACCOUNT_TOKEN_COLUMNS ", " RT_USER_COLUMNS
                              " FROM account_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?1",
                              {hash}));
    RT_TRY(bool has, rows.next());
    if (!has) return not_found("unknown account token");
    return AccountTokenOwner{read_account_token(rows), read_user(rows, kAccountTokenColumnCount)};
  });
}

Result<Page<AccountToken>> SqliteStore::list_account_tokens(Id user_id, std::optional<Id> before_id, int limit) {
  RT_TRY_STATUS(check_limit(limit));
  return read([&](Connection& c) {
    return in_snapshot(c, [&](Connection& c) -> Result<Page<AccountToken>> {
      // Two fixed texts rather than "?2 IS NULL OR t.id < ?2", which would keep SQLite from seeking.
      const char* sql = before_id ? "SELECT " RT_ACCOUNT_TOKEN_COLUMNS " FROM account_tokens t"
                                    " WHERE t.user_id = ?1 AND t.id < ?2 ORDER BY t.id DESC LIMIT ?3"
                                  : "SELECT " RT_ACCOUNT_TOKEN_COLUMNS " FROM account_tokens t"
                                    " WHERE t.user_id = ?1 ORDER BY t.id DESC LIMIT ?3";
      RT_TRY(Rows rows, c.query(sql, {user_id, before_id, limit + 1}));
      RT_TRY(auto page, read_page<AccountToken>(rows, limit, [](const Rows& r) { return read_account_token(r); }));
      RT_TRY(auto total, c.query_int64("SELECT count(*) FROM account_tokens WHERE user_id = ?1", {user_id}));
      page.total = total.value_or(0);
      return page;
    });
  });
}

Status SqliteStore::delete_account_token(Id user_id, Id token_id) {
  return write<Ok>([&](Connection& c) -> Status {
    RT_TRY(int deleted, c.execute("DELETE FROM account_tokens WHERE id = ?1 AND user_id = ?2", {token_id, user_id}));
    if (deleted == 0) return not_found("no account token " + std::to_string(token_id) + " for this user");
    return ok_status();
  });
}

}  // namespace rt::sqlite
